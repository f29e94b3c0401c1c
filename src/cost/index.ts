/** Public API of the cost meter and report (see docs/cost-report.md). */
export { CostMeter, diffSnapshots, deltaCoresPer10G, METER_COUNTERS, type CostSnapshot, type CostDelta, type CostMeterOptions, type StageTotals, type MeterCounter } from './meter.js';
export { readHostCpu, readSelfCpu, readThreadCpu, readThreadsCpu, parseProcStat, parseTaskStat, USER_HZ, type HostCpuTimes, type TaskCpuTimes, type ThreadCpuTimes } from './proc-stat.js';
export { framesPerSecondAtLineRate, cpuNsPerFrame, coresInUse, coresPer10G, freedShare, WIRE_OVERHEAD_BYTES, FCS_BYTES } from './derive.js';
export { beginPlanRun, type PlanRun, type PlanRunSampler } from './plan-run.js';
export { buildCostReport, REPORT_FORMULAS, type CostReport, type PlanFigures } from './report.js';
export { reportJson, reportTable, reportSvg } from './report-render.js';
export { svgBarChart, type BarChartSpec } from './svg-chart.js';
export { registerCostMetrics } from './metrics.js';
