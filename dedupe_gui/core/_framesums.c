/* The hot-pixel worker's per-frame pass in one sweep (optional; see hotpixels.Sums).
 *
 * Why: per frame the worker needs the 3x3 same-channel median, sum x, sum x*x and the counts
 * of frames above and below the median by more than a deviation. As OpenCV calls that is nine
 * passes over the frame and the float32 sums; with this kernel 100 frames of 24 MP take 4 s of
 * CPU less (benchmarks/hotpixels_speed.py: 1 worker 15.8 s instead of 20.1 s). Here each row
 * of every frame of a group is read once, in column blocks: per block, each frame's median
 * and its integer sums stay in L1, and the block's sums over all the frames are added to the
 * float sums once per group instead of once per frame. Results are bit-identical to the OpenCV
 * passes (integer sums are exact, and the float sums only ever hold exact integers).
 *
 * Plain C for the vectoriser: each kernel is one simple loop with restrict pointers and
 * min/max instead of branches, which gcc/clang -O3 turn into SIMD. No numpy headers: arrays
 * come in through the buffer protocol.
 */
#define PY_SSIZE_T_CLEAN
#if defined(_MSC_VER)
#define restrict __restrict
#endif
#include <Python.h>
#include <stdint.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define BLOCK 1024 /* values per integer block: a1, a2, up, dn stay in L1 */
/* Kernels stay out of line: inlined, gcc forgets the restrict promises and gives up
 * vectorising. On x86-64 glibc (ifunc) gcc also builds an AVX2 clone of each, chosen at load
 * time (16 -> 32 values per instruction; measured ~20% less time per frame). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define NOINLINE __attribute__((noinline, target_clones("avx2", "default")))
#elif defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* T: pixel type; S2T: type of the float sum of squares; A1T/A2T: integer block sums of x and
 * x*x over at most 255 frames; SQT: the narrowest type that holds x*x exactly (16-bit
 * multiplies for 8-bit pixels). */
#define KERNELS(SFX, T, S2T, A1T, A2T, SQT)                                                   \
/* sorted vertical triples (lo, mid, hi) of rows y-1, y, y+1 */                               \
NOINLINE static void                                                                          \
sort3_##SFX(const T *restrict up, const T *restrict mid, const T *restrict dn,                \
            T *restrict L, T *restrict M, T *restrict H, Py_ssize_t R)                        \
{                                                                                             \
    for (Py_ssize_t i = 0; i < R; i++) {                                                      \
        T a = up[i], b = mid[i], d = dn[i];                                                   \
        T t1 = MIN(a, b), t2 = MAX(a, b), t3 = MIN(t2, d);                                    \
        H[i] = MAX(t2, d);                                                                    \
        L[i] = MIN(t1, t3);                                                                   \
        M[i] = MAX(t1, t3);                                                                   \
    }                                                                                         \
}                                                                                             \
/* median of 9 = med3(max of the lows, med3 of the mids, min of the highs) of three columns */ \
NOINLINE static void                                                                          \
median_##SFX(const T *restrict L, const T *restrict M, const T *restrict H,                   \
             T *restrict out, Py_ssize_t R, Py_ssize_t c)                                     \
{                                                                                             \
    const T *L1 = L + c, *L2 = L + 2 * c, *M1 = M + c, *M2 = M + 2 * c;                       \
    const T *H1 = H + c, *H2 = H + 2 * c;                                                     \
    for (Py_ssize_t i = 0; i < R; i++) {                                                      \
        T lo = MAX(MAX(L[i], L1[i]), L2[i]);                                                  \
        T hi = MIN(MIN(H[i], H1[i]), H2[i]);                                                  \
        T mm = MAX(MIN(M[i], M1[i]), MIN(MAX(M[i], M1[i]), M2[i]));                           \
        out[i] = MAX(MIN(lo, mm), MIN(MAX(lo, mm), hi));                                      \
    }                                                                                         \
}                                                                                             \
NOINLINE static void                                                                          \
accum_##SFX(const T *restrict x, const T *restrict med, A1T *restrict a1,                     \
            A2T *restrict a2, uint8_t *restrict up, uint8_t *restrict dn,                     \
            Py_ssize_t n, T dev)                                                              \
{                                                                                             \
    for (Py_ssize_t i = 0; i < n; i++) {                                                      \
        T v = x[i], m = med[i];                                                               \
        A1T w = v;                                                                            \
        a1[i] += w;                                                                           \
        a2[i] += (A2T)(SQT)((SQT)v * (SQT)v);                                                 \
        T above = MAX(v, m) - m, below = m - MIN(v, m);                                       \
        up[i] += above > dev;                                                                 \
        dn[i] += below > dev;                                                                 \
    }                                                                                         \
}                                                                                             \
NOINLINE static void                                                                          \
fold_##SFX(A1T *restrict a1, A2T *restrict a2, uint8_t *restrict up,                          \
           uint8_t *restrict dn, float *restrict s1, S2T *restrict s2,                        \
           uint8_t *restrict s_up, uint8_t *restrict s_dn, Py_ssize_t n)                      \
{                                                                                             \
    for (Py_ssize_t i = 0; i < n; i++) {                                                      \
        s1[i] += (float)a1[i];                                                                \
        s2[i] += (S2T)a2[i];                                                                  \
        s_up[i] += up[i];                                                                     \
        s_dn[i] += dn[i];                                                                     \
        a1[i] = 0;                                                                            \
        a2[i] = 0;                                                                            \
        up[i] = 0;                                                                            \
        dn[i] = 0;                                                                            \
    }                                                                                         \
}                                                                                             \
/* Row y of k frames into row y of the sums, in column blocks: for each block, every frame's */ \
/* sorted triples, median and integer sums stay in L1, and the sums are touched once. */       \
/* Borders are replicated, like cv2.medianBlur's. */                                           \
static void rows_##SFX(const T *const *frames, Py_ssize_t k, Py_ssize_t y, Py_ssize_t h,    \
                       Py_ssize_t R, Py_ssize_t c, T *buf, T *med, A1T *a1, A2T *a2,          \
                       uint8_t *up, uint8_t *dn, float *s1, S2T *s2, uint8_t *s_up,           \
                       uint8_t *s_dn, T dev)                                                  \
{                                                                                             \
    Py_ssize_t yu = y ? y - 1 : 0, yd = y + 1 < h ? y + 1 : h - 1, P = BLOCK + 2 * c;         \
    T *L = buf, *M = L + P, *H = M + P;                                                       \
    for (Py_ssize_t i0 = 0; i0 < R; i0 += BLOCK) {                                            \
        /* values i0-c .. i0+n+c-1 (one pixel either side) at buffer positions 0 .. n+2c-1 */ \
        Py_ssize_t n = MIN(BLOCK, R - i0), lo = MAX(i0 - c, 0), hi = MIN(i0 + n + c, R);     \
        Py_ssize_t first = lo - (i0 - c), end = hi - (i0 - c), p;                             \
        for (Py_ssize_t j = 0; j < k; j++) {                                                  \
            const T *f = frames[j];                                                           \
            sort3_##SFX(f + yu * R + lo, f + y * R + lo, f + yd * R + lo, L + first,         \
                        M + first, H + first, hi - lo);                                       \
            for (p = 0; p < first; p++) { /* left of the first pixel */                       \
                L[p] = L[p + c]; M[p] = M[p + c]; H[p] = H[p + c];                            \
            }                                                                                 \
            for (p = end; p < n + 2 * c; p++) { /* right of the last pixel */                 \
                L[p] = L[p - c]; M[p] = M[p - c]; H[p] = H[p - c];                            \
            }                                                                                 \
            median_##SFX(L, M, H, med, n, c);                                                 \
            accum_##SFX(f + y * R + i0, med, a1, a2, up, dn, n, dev);                         \
        }                                                                                     \
        fold_##SFX(a1, a2, up, dn, s1 + y * R + i0, s2 + y * R + i0, s_up + y * R + i0,      \
                   s_dn + y * R + i0, n);                                                     \
    }                                                                                         \
}

KERNELS(u8, uint8_t, float, uint16_t, uint32_t, uint16_t)
KERNELS(u16, uint16_t, double, uint32_t, uint64_t, uint32_t)

/* The struct format of a buffer's items as one native-order character ('B' uint8, 'H'
 * uint16, 'f' float32, 'd' float64), or 0 for anything else: the size alone would let an
 * int16 or float16 frame through as uint16. */
static char item_format(const Py_buffer *view)
{
    const char *f = view->format ? view->format : "B";
    if (*f == '@' || *f == '=')
        f++;
    return f[0] && !f[1] ? f[0] : 0;
}

/* ``obj``'s buffer: C-contiguous, ``len`` items of ``format``. */
static int get(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t len, char format,
               const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (item_format(view) != format || view->len != len * view->itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd values of format '%c'", what, len,
                     format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(add_doc,
"add(frames, s1, s2, up, down, height, width, channels, deviation)\n\n"
"Add 1..255 same-shape frames (uint8 or uint16, height x width x channels, C order) to the\n"
"sums (height x width*channels, C order): s1 += x (float32), s2 += x*x (float32 for uint8\n"
"frames, float64 for uint16), up += 1 where x - med > deviation and down += 1 where\n"
"med - x > deviation (uint8; med: the 3x3 same-channel median). Releases the GIL.");

static PyObject *add(PyObject *self, PyObject *args)
{
    PyObject *frames, *o1, *o2, *oup, *odn;
    Py_ssize_t h, w, c;
    int dev;
    if (!PyArg_ParseTuple(args, "OOOOOnnni", &frames, &o1, &o2, &oup, &odn, &h, &w, &c, &dev))
        return NULL;
    if (h <= 0 || w <= 0 || c <= 0 || dev < 0) {
        PyErr_SetString(PyExc_ValueError, "bad shape or deviation");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(frames, "frames must be a sequence");
    if (!seq)
        return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq), R = w * c, n = h * R, got = 0, item = 1;
    char format = 0;
    if (k < 1 || k > 255) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "1 to 255 frames per call");
        return NULL;
    }
    Py_buffer b1, b2, bup, bdn, *fb = PyMem_Calloc(k, sizeof(Py_buffer));
    const void **ptr = PyMem_Calloc(k, sizeof(void *));
    void *buf = NULL, *med = NULL, *a1 = NULL, *a2 = NULL;
    uint8_t *up = NULL, *dn = NULL;
    int ok = 0, held = 0;
    if (!fb || !ptr) {
        PyErr_NoMemory();
        goto done;
    }
    if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, 0), &fb[0], PyBUF_FORMAT) < 0)
        goto done;
    format = item_format(&fb[0]);
    PyBuffer_Release(&fb[0]);
    if (format != 'B' && format != 'H') {
        PyErr_SetString(PyExc_TypeError, "frames must be uint8 or uint16");
        goto done;
    }
    item = format == 'H' ? 2 : 1;
    for (got = 0; got < k; got++) {
        if (get(PySequence_Fast_GET_ITEM(seq, got), &fb[got], 0, n, format, "frame") < 0)
            goto done;
        ptr[got] = fb[got].buf;
    }
    if (get(o1, &b1, 1, n, 'f', "s1") < 0)
        goto done;
    held = 1;
    if (get(o2, &b2, 1, n, item == 2 ? 'd' : 'f', "s2") < 0)
        goto done;
    held = 2;
    if (get(oup, &bup, 1, n, 'B', "up") < 0)
        goto done;
    held = 3;
    if (get(odn, &bdn, 1, n, 'B', "down") < 0)
        goto done;
    held = 4;
    buf = PyMem_Malloc(3 * (BLOCK + 2 * c) * item);
    med = PyMem_Malloc(BLOCK * item);
    a1 = PyMem_Calloc(BLOCK, item == 1 ? sizeof(uint16_t) : sizeof(uint32_t));
    a2 = PyMem_Calloc(BLOCK, item == 1 ? sizeof(uint32_t) : sizeof(uint64_t));
    up = PyMem_Calloc(BLOCK, 1);
    dn = PyMem_Calloc(BLOCK, 1);
    if (!buf || !med || !a1 || !a2 || !up || !dn) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < h; y++) {
        if (item == 1)
            rows_u8((const uint8_t *const *)ptr, k, y, h, R, c, buf, med, a1, a2, up, dn,
                    b1.buf, b2.buf, bup.buf, bdn.buf, (uint8_t)MIN(dev, 255));
        else
            rows_u16((const uint16_t *const *)ptr, k, y, h, R, c, buf, med, a1, a2, up, dn,
                     b1.buf, b2.buf, bup.buf, bdn.buf, (uint16_t)MIN(dev, 65535));
    }
    Py_END_ALLOW_THREADS
    ok = 1;
done:
    PyMem_Free(buf);
    PyMem_Free(med);
    PyMem_Free(a1);
    PyMem_Free(a2);
    PyMem_Free(up);
    PyMem_Free(dn);
    if (held > 3)
        PyBuffer_Release(&bdn);
    if (held > 2)
        PyBuffer_Release(&bup);
    if (held > 1)
        PyBuffer_Release(&b2);
    if (held > 0)
        PyBuffer_Release(&b1);
    for (Py_ssize_t i = 0; i < got; i++)
        PyBuffer_Release(&fb[i]);
    PyMem_Free(fb);
    PyMem_Free(ptr);
    Py_DECREF(seq);
    if (!ok)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, add_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_framesums",
    "The hot-pixel worker's per-frame pass in one sweep (optional: OpenCV passes otherwise).",
    -1, methods, NULL, NULL, NULL, NULL,
};

/* ABI: the calling convention of add(); hotpixels.py ignores a module built from another
 * version of this file (an editable install keeps its old build until reinstalled). */
PyMODINIT_FUNC PyInit__framesums(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "ABI", 2) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
