/**
 * Tied weights. With a tied LM head the model holds two copies of `wte.weight`: the embedding unit's and
 * the head unit's (possibly on different ranks). Each copy gets its own gradient in the backward; before
 * the optimizer step both gradients are replaced by their sum (embedding's + head's), so both copies see
 * the same gradient, carry the same AdamW state, and stay bitwise equal forever. IEEE addition of two
 * numbers is commutative, so a rank that adds the other copy into its own gets the same bits either way.
 */
import type { Parameter } from './parameter.js';

/** Groups of two or more parameters sharing a name, each group in list order (embedding's copy first). */
export function findTiedParameters(parameters: readonly Parameter[]): Parameter[][] {
  const byName = new Map<string, Parameter[]>();
  for (const parameter of parameters) {
    const group = byName.get(parameter.name);
    if (group === undefined) byName.set(parameter.name, [parameter]);
    else group.push(parameter);
  }
  return [...byName.values()].filter((group) => group.length > 1);
}

/** Copies on one worker: every copy's gradient becomes the sum of all copies' gradients, added in group order. */
export function sumTiedGradients(groups: readonly (readonly Parameter[])[]): void {
  for (const group of groups) {
    const [first, ...others] = group;
    const sum = first!.grad;
    for (const other of others) addTiedGradient(sum, other.grad);
    for (const other of others) other.grad.set(sum);
  }
}

/** A copy on another rank: grad += remoteGrad, elementwise (the same bits as the other rank's remote + local). */
export function addTiedGradient(grad: Float32Array, remoteGrad: Float32Array): void {
  if (grad.length !== remoteGrad.length) {
    throw new Error(`tied gradient copies differ in length: ${grad.length} and ${remoteGrad.length}`);
  }
  for (let i = 0; i < grad.length; i++) grad[i]! += remoteGrad[i]!;
}
