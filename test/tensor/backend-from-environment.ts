/**
 * Imported first by every kernel test file: chooses this test process's backend from CONVEYOR_KERNELS and
 * CONVEYOR_NATIVE_ISA, so scripts/test-kernels.mjs can run the same tests on each backend.
 */
import { configureKernels, kernelRequestFromEnvironment } from '../../src/tensor/index.js';

configureKernels(kernelRequestFromEnvironment(process.env));
