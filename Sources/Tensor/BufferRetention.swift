import CBLAS

/// Keeps freed activation buffers in the process instead of handing them back to the kernel.
///
/// A block forward allocates a dozen window-sized buffers (q, k, v, scores, gate, up, …) and
/// frees them before the next block. glibc's default (dynamic mmap threshold, trim threshold
/// twice that) returns a freed top-of-heap region above a few MB with `sbrk`, so the next block
/// takes every page again as a fresh zero-filled fault: `bench forward` on SmolLM2 at L = 512
/// spent ~20% of its CPU time in the kernel, and the gate/up products (3 MB outputs, faulted in
/// by OpenBLAS's β = 0 pass) ran at 0.74 of the same sgemm timed alone. With a fixed mmap
/// threshold of 32 MB (glibc's maximum) and a trim threshold of 1 GB, buffers below 32 MB are
/// recycled from the heap; larger ones (7B-class gate/up at long windows) still come from mmap,
/// where a fault per 4 KB page is under 1% of the product that fills them. The peak resident
/// set is unchanged apart from fragmentation, since a retained buffer is what the next block
/// allocates. Arithmetic is untouched.
public func retainFreedBuffers() {
    #if canImport(Glibc)
    _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
    _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    #endif
}
