/**
 * Commander's own errors (an unknown option, a missing value, a choice not on the list) said the way every
 * other conveyor message is: the flag first, what was wrong, what would be right, on one line.
 */
import type { Command, CommanderError } from 'commander';
import { quote } from '../quote.js';

/** '--save <dir>' -> '--save'; '-h, --help' -> '--help'. */
const longFlag = (flags: string): string => /--[\w-]+/.exec(flags)?.[0] ?? flags;

/** Commander's "(Did you mean --save?)" on a line of its own becomes "; did you mean --save?". */
function suggestion(message: string): string {
  const match = /\(Did you mean (.+)\?\)/.exec(message);
  return match === null ? '' : `; did you mean ${match[1]}?`;
}

/** The subcommand the user named, if any: its name is the first argument that names one. */
function subcommand(program: Command, argv: readonly string[]): Command | undefined {
  return argv.map((arg) => program.commands.find((command) => command.name() === arg)).find((command) => command !== undefined);
}

export function commanderMessage(error: CommanderError, program: Command, argv: readonly string[]): string {
  const message = error.message.replace(/^error: /, '');
  const command = subcommand(program, argv);
  const where = command === undefined ? 'conveyor' : `conveyor ${command.name()}`;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  switch (error.code) {
    case 'commander.unknownOption':
      return `${quote(quoted)} is not an option of ${where}${suggestion(message)} (${where} --help lists them)`;
    case 'commander.unknownCommand': {
      const names = program.commands.map((entry) => entry.name()).join(', ');
      return `${quote(quoted)} is not a conveyor command${suggestion(message)} (commands: ${names})`;
    }
    case 'commander.missingMandatoryOptionValue':
      return `${where} needs ${quoted}`;
    case 'commander.optionMissingArgument':
      return `${longFlag(quoted)} needs a value: ${quoted}`;
    case 'commander.conflictingOption': {
      const [flag, other] = [...message.matchAll(/'([^']*)'/g)].map((match) => longFlag(match[1]!));
      return `${flag} cannot be used with ${other}; give one or the other`;
    }
    case 'commander.invalidArgument': {
      // "option '--format <f>' argument 'x' is invalid. Allowed choices are a, b." (choices), or a parser's
      // InvalidArgumentError: "… is invalid. expected a port number from 0 to 65535, such as 8080."
      const match = /^option '([^']*)' argument '(.*)' is invalid\. (?:Allowed choices are (.*?)|(?:expected )?(.*?))\.?$/s.exec(message);
      if (match === null) return message;
      const accepted = match[3] === undefined ? match[4]! : `one of ${match[3]}`;
      return `${longFlag(match[1]!)} must be ${accepted}, got ${quote(match[2]!)}`;
    }
    case 'commander.excessArguments': {
      const extra = command?.args ?? [];
      return `${where} takes only --options, so ${extra.map((arg) => quote(arg)).join(', ')} ${extra.length === 1 ? 'is' : 'are'} not understood (a switch such as --json takes no value)`;
    }
    default:
      return message;
  }
}
