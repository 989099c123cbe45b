export { directoryCollateral, directoryCandidates, collateralFileName } from './directory.ts';
export {
  httpSource,
  httpCollateral,
  type FetchLike,
  type HttpSourceOptions,
  type HttpCollateralOptions,
} from './http.ts';
export { cachedCollateral, type CollateralCacheOptions } from './cache.ts';
export { firstOf, byHost, unavailableOnError, staticCollateral } from './compose.ts';
export { isResponseSource, type ResponseSource } from './response.ts';
export { pcsCollateralSource, PCS_ISSUER_CHAIN_HEADERS } from './pcs.ts';
export { qvlCollateral, qvlResponses } from './qvl.ts';
export { operatorCollateral, defaultCollateral } from './defaults.ts';
