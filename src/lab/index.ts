/**
 * Notebook-facing helpers: charts (pure vega-lite 5 specs), display (MIME bundles to the
 * tslab kernel, text elsewhere), tables and live progress. See README "Display API".
 *
 * The notebook runner (./runner) is deliberately not exported here: it pulls in
 * @jupyterlab/services, which a kernel importing 'xen-netlab' has no use for.
 */
export {
  areaChart,
  barChart,
  chart,
  heatmapChart,
  isChart,
  lineChart,
  scatterChart,
  stepChart,
  swimlaneChart,
} from './chart';
export type { BarOptions, Chart, ChartOptions, FieldType, HeatmapOptions, Row, ScatterOptions, SwimlaneOptions, XYOptions } from './chart';
export { bundleOf, chartBundle, inKernel, publishDisplayData, show, tableBundle, textOf, VEGALITE_MIME } from './display';
export type { Displayable, MimeBundle } from './display';
export { progress } from './progress';
export type { Progress, ProgressOptions } from './progress';
export { renderPng, renderSvg } from './render';
export type { RenderedPng, RenderPngOptions } from './render';
export { isTable, table } from './table';
export type { Table, TableOptions } from './table';
