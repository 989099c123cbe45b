export { directoryCollateral, directoryCandidates } from './directory.ts';
export { httpCollateral, type HttpCollateralOptions } from './http.ts';
