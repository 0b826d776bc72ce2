// The numeric kernels (BLAS, vector math, the slice threads, the layers' forward and backward,
// the optimizer's and the all-reduce's element loops) live in FTKernels, the only target built
// without overflow and bounds checks in release. Re-exported here so every module that imports
// FTCore keeps seeing them under their old names, without an import of its own.
@_exported import FTKernels
