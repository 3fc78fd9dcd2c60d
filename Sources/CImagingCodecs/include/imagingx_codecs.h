#ifndef IMAGINGX_CODECS_H
#define IMAGINGX_CODECS_H
#include <stddef.h>
#include <stdint.h>

/* Encoders used to build fixtures and SampleData. libjpeg and libpng signal fatal errors by
   longjmp; these wrappers catch them and return a non-zero code with a message, so a bad
   argument never exit()s the process. The output buffer is malloc'd; free it with ixc_free. */

typedef struct {
    int width, height;
    int components;      /* 1 gray, 3 RGB/YCbCr, 4 CMYK */
    int quality;         /* 1...100 */
    int progressive;     /* 0 or 1 */
    int density_unit;    /* JFIF: 0 none, 1 dots/inch, 2 dots/cm */
    int x_density, y_density;
    int write_jfif;      /* 0 omits the JFIF APP0 marker */
} ixc_jpeg_options;

int ixc_jpeg_encode(const uint8_t *pixels, const ixc_jpeg_options *opt,
                    uint8_t **out, size_t *out_size, char *message, size_t message_size);

typedef struct {
    int width, height;
    int bit_depth;       /* 1, 2, 4, 8, 16 */
    int color_type;      /* PNG colour type: 0, 2, 3, 4, 6 */
    int interlace;       /* 0 none, 1 Adam7 */
    int phys_unit;       /* -1 no pHYs chunk, 0 unknown (aspect only), 1 metre */
    uint32_t ppu_x, ppu_y;
    int palette_size;    /* colour type 3: entries in palette (gray ramp) */
} ixc_png_options;

/* pixels: rows of packed samples as PNG stores them (16-bit samples big-endian). */
int ixc_png_encode(const uint8_t *pixels, const ixc_png_options *opt,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size);

void ixc_free(void *p);

#endif
