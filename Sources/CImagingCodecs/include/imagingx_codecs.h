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

/* Decoders for pixel statistics. Decoded rows are handed to `rows` in pieces (whole rows,
   samples interleaved, 16-bit samples in host order); a non-zero return from `rows` stops the
   decode. `max_bytes` bounds any whole-image buffer the decoder needs (interlaced PNG,
   progressive JPEG coefficients). Return: 0 decoded, 1 damaged data (message says why),
   2 a variant these libraries do not decode (message says which). */

typedef int (*ixc_rows_fn)(void *context, const uint8_t *rows, size_t bytes);

typedef struct {
    int width, height;
    int channels;        /* samples per pixel after the transforms below */
    int bit_depth;       /* 8 or 16 (PNG 1/2/4-bit samples are unpacked to one byte each) */
} ixc_image_info;

/* PNG: palette expanded to RGB (tRNS ignored), bit depths below 8 unpacked without scaling,
   16-bit kept, alpha kept as a channel. */
int ixc_png_decode(const uint8_t *data, size_t size, size_t max_bytes, ixc_rows_fn rows, void *context,
                   ixc_image_info *info, char *message, size_t message_size);

/* JPEG (8-bit DCT processes): YCbCr to RGB, grayscale kept, CMYK/YCCK as CMYK (inverted when an
   Adobe marker is present), as Pillow. `stored_rgb` non-zero: 3-component data is RGB already
   (DICOM PhotometricInterpretation RGB), so no colour transform is applied. */
int ixc_jpeg_decode(const uint8_t *data, size_t size, size_t max_bytes, int stored_rgb, ixc_rows_fn rows, void *context,
                    ixc_image_info *info, char *message, size_t message_size);

#endif
