export { encodeInitData, decodeInitData, initDataDigestHex } from '../lib/index.ts';
export { workloadInitData, type WorkloadInitData } from '../manifest/index.ts';

export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
