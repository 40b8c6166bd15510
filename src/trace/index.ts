/** Timelines out: the terminal grid, the SVG Gantt chart and Chrome's trace format. */
export { DEFAULT_GRID_WIDTH, drawTextGrid, type TextGridOptions } from './text-grid.js';
export { drawSvg, type SvgOptions } from './svg.js';
export { toChromeTrace } from './chrome-trace.js';
export { activityAt, idleWithin, kindNames, meanBubble, percent, shortNumber } from './summary.js';
