/** The planner: from a model and a cluster to a hybrid-parallel plan, with memory and step time predicted. */
export { gpuCatalogue, findGpu, peakFlops, type Gpu, type Precision } from './hardware.js';
export { parseHardware } from './hardware-file.js';
export { parseCluster, clusterGpus, clusterJson, balancedSplit, type Cluster, type GpuGroup } from './cluster.js';
export {
  modelPresets, findPreset, totalParameters, activeParameters, layerParameters, layerParameterParts, moeOf, isMoeLayer,
  type LayerKind, type ModelShape, type MoeShape,
} from './model.js';
export {
  microbatchesPerStep, contextParallelDegree, expertParallelDegree, expertTensorDegree, rankGpus,
  type ContextParallelCommunication, type MoeDispatcher, type Job, type ParallelPlan, type Recompute, type ZeroStage,
} from './plan.js';
export { modelFlopsPerStep, recomputeFlopsPerStep, layerForwardFlopsPerToken } from './flops.js';
export {
  activationBytesPerLayer, modelStateBytes, stageParameters, layersPerRank, layerSplit, rankShares, rankParameters,
  type ActivationOptions, type RankShare, type StageParameters,
} from './memory.js';
export { EXPERT_LOAD_FACTOR, layerTimes, type LayerSettings } from './layer-time.js';
export { remoteNodesPerToken } from './expert-parallel-time.js';
export { pipelineShape, type PipelineShape } from './pipeline.js';
export { estimate, estimatePlanMemory, speedSplit, type Estimate, type MemoryBreakdown, type TimeBreakdown } from './estimate.js';
export { jobFromConfig, parseEstimateConfig, parseJsonText, parseModel, estimateConfigSchema, type EstimateConfig } from './config.js';
export { searchPlans, type SearchRequest, type SearchResult } from './search.js';
export { noPlanError, minimumCluster } from './infeasible.js';
export { explain, type Explanation, type Finding, type Suggestion } from './explain.js';
export { configOf, estimateJson, formatEstimate, formatPlanTable, formatExplanation, describePlan, gpusName, links } from './report.js';
export { megatronLaunch, formatMegatronLaunch, type MegatronLaunch } from './export/megatron.js';
export { deepspeedRun, type DeepspeedRun } from './export/deepspeed.js';
export { torchtitanConfigFunction, torchtitanOverrides, torchtitanToml } from './export/torchtitan.js';
export { engineSources, exportEngines, checkedAgainst, type EngineSource, type ExportEngine } from './export/sources.js';
export { engineRefusals } from './export/refusals.js';
export { planForEngine, type EngineChoice } from './export/choose.js';
export {
  exportFiles, exportPlan, formatExportFiles, isExportEngine, unknownEngine, type ExportFile,
} from './export/render.js';
export * from './import/index.js';
