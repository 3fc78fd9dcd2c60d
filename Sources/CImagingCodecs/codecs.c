#include "imagingx_codecs.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <png.h>

void ixc_free(void *p) { free(p); }

/* ---- JPEG ---------------------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
    size_t message_size;
} ixc_jpeg_error;

static void ixc_jpeg_error_exit(j_common_ptr cinfo) {
    ixc_jpeg_error *err = (ixc_jpeg_error *)cinfo->err;
    if (err->message && err->message_size) {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        snprintf(err->message, err->message_size, "%s", buffer);
    }
    longjmp(err->jump, 1);
}

static void ixc_jpeg_silence(j_common_ptr cinfo, int level) { (void)cinfo; (void)level; }

/* An error manager that longjmps back with the message instead of exit(), and stays quiet. */
static struct jpeg_error_mgr *ixc_jpeg_error_init(ixc_jpeg_error *err, char *message, size_t message_size) {
    struct jpeg_error_mgr *base = jpeg_std_error(&err->base);
    err->base.error_exit = ixc_jpeg_error_exit;
    err->base.emit_message = ixc_jpeg_silence;
    err->message = message;
    err->message_size = message_size;
    return base;
}

int ixc_jpeg_encode(const uint8_t *pixels, const ixc_jpeg_options *opt,
                    uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    struct jpeg_compress_struct cinfo;
    ixc_jpeg_error jerr;
    unsigned char *buffer = NULL;
    unsigned long size = 0;
    *out = NULL;
    *out_size = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = ixc_jpeg_error_init(&jerr, message, message_size);
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = (JDIMENSION)opt->width;
    cinfo.image_height = (JDIMENSION)opt->height;
    cinfo.input_components = opt->components;
    cinfo.in_color_space = opt->components == 1 ? JCS_GRAYSCALE
                         : opt->components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, opt->quality, TRUE);
    if (opt->progressive) jpeg_simple_progression(&cinfo);
    cinfo.write_JFIF_header = opt->write_jfif ? TRUE : FALSE;
    cinfo.density_unit = (UINT8)opt->density_unit;
    cinfo.X_density = (UINT16)opt->x_density;
    cinfo.Y_density = (UINT16)opt->y_density;
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)opt->width * (size_t)opt->components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = size;
    return 0;
}

/* ---- PNG ----------------------------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t size, capacity;
    int failed;
} ixc_sink;

static void ixc_png_write(png_structp png, png_bytep data, png_size_t length) {
    ixc_sink *sink = (ixc_sink *)png_get_io_ptr(png);
    if (sink->failed) return;
    if (sink->size + length > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity * 2 : 4096;
        while (capacity < sink->size + length) capacity *= 2;
        uint8_t *grown = realloc(sink->data, capacity);
        if (!grown) { sink->failed = 1; png_error(png, "out of memory"); }
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, data, length);
    sink->size += length;
}

static void ixc_png_flush(png_structp png) { (void)png; }

typedef struct { char *message; size_t message_size; } ixc_png_context;

static void ixc_png_error(png_structp png, png_const_charp text) {
    ixc_png_context *ctx = (ixc_png_context *)png_get_error_ptr(png);
    if (ctx && ctx->message && ctx->message_size) snprintf(ctx->message, ctx->message_size, "%s", text);
    png_longjmp(png, 1);
}

static void ixc_png_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

int ixc_png_encode(const uint8_t *pixels, const ixc_png_options *opt,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    ixc_png_context ctx = { message, message_size };
    ixc_sink sink = { NULL, 0, 0, 0 };
    *out = NULL;
    *out_size = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, ixc_png_error, ixc_png_warning);
    if (!png) return 1;
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); return 1; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(sink.data);
        return 1;
    }
    png_set_write_fn(png, &sink, ixc_png_write, ixc_png_flush);
    png_set_IHDR(png, info, (png_uint_32)opt->width, (png_uint_32)opt->height, opt->bit_depth,
                 opt->color_type, opt->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (opt->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color palette[256];
        int n = opt->palette_size > 0 && opt->palette_size <= 256 ? opt->palette_size : 256;
        for (int i = 0; i < n; i++) {
            png_byte v = (png_byte)(n > 1 ? (i * 255) / (n - 1) : 0);
            palette[i].red = v; palette[i].green = v; palette[i].blue = (png_byte)(255 - v);
        }
        png_set_PLTE(png, info, palette, n);
    }
    if (opt->phys_unit >= 0)
        png_set_pHYs(png, info, opt->ppu_x, opt->ppu_y,
                     opt->phys_unit == 1 ? PNG_RESOLUTION_METER : PNG_RESOLUTION_UNKNOWN);
    png_write_info(png, info);
    int channels = opt->color_type == 2 ? 3 : opt->color_type == 4 ? 2 : opt->color_type == 6 ? 4 : 1;
    size_t stride = ((size_t)opt->width * (size_t)channels * (size_t)opt->bit_depth + 7) / 8;
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < opt->height; y++)
            png_write_row(png, (png_const_bytep)(pixels + stride * (size_t)y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = sink.data;
    *out_size = sink.size;
    return 0;
}

/* ---- Decoding ------------------------------------------------------------------------ */

typedef struct { const uint8_t *data; size_t size, offset; } ixc_source;

static void ixc_png_read(png_structp png, png_bytep out, png_size_t length) {
    ixc_source *src = (ixc_source *)png_get_io_ptr(png);
    if (length > src->size - src->offset) png_error(png, "PNG data ends early");
    memcpy(out, src->data + src->offset, length);
    src->offset += length;
}

int ixc_png_decode(const uint8_t *data, size_t size, size_t max_bytes, ixc_rows_fn rows, void *context,
                   ixc_image_info *info, char *message, size_t message_size) {
    ixc_png_context ctx = { message, message_size };
    ixc_source src = { data, size, 0 };
    uint8_t *volatile image = NULL;
    uint8_t *volatile row = NULL;
    png_bytep *volatile pointers = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, ixc_png_error, ixc_png_warning);
    if (!png) { snprintf(message, message_size, "libpng could not start"); return 1; }
    png_infop pinfo = png_create_info_struct(png);
    if (!pinfo) { png_destroy_read_struct(&png, NULL, NULL); return 1; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        free(image);
        free(row);
        free(pointers);
        return 1;
    }
    png_set_read_fn(png, &src, ixc_png_read);
    /* CRC errors are errors (the header reader checks IHDR's CRC too). */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, pinfo);
    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, pinfo, &width, &height, &depth, &color, &interlace, NULL, NULL);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
        /* palette_to_rgb would add alpha from tRNS: the palette's colours are the image. */
        png_set_strip_alpha(png);
    }
    if (depth < 8) png_set_packing(png);
    if (depth == 16) png_set_swap(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    size_t stride = png_get_rowbytes(png, pinfo);
    info->width = (int)width;
    info->height = (int)height;
    info->channels = png_get_channels(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);
    if (passes > 1) {
        if (height && stride > max_bytes / height) {
            snprintf(message, message_size, "an interlaced %ux%u image needs %zu bytes, over the %zu-byte limit",
                     width, height, stride * height, max_bytes);
            png_destroy_read_struct(&png, &pinfo, NULL);
            return 1;
        }
        image = malloc(stride * height + 1);
        if (!image) png_error(png, "out of memory for an interlaced image");
        pointers = (png_bytep *)malloc(sizeof(png_bytep) * (height + 1));
        if (!pointers) png_error(png, "out of memory");
        for (png_uint_32 y = 0; y < height; y++) pointers[y] = image + stride * y;
        png_read_image(png, pointers);
        free(pointers);
        pointers = NULL;
        if (rows(context, image, stride * height)) { png_destroy_read_struct(&png, &pinfo, NULL); free(image); return 1; }
    } else {
        /* Rows in groups of about 64 KiB. */
        size_t group = stride ? (65536 / stride) + 1 : 1;
        if (group > height) group = height ? height : 1;
        row = malloc(stride * group + 1);
        if (!row) png_error(png, "out of memory");
        png_uint_32 y = 0;
        while (y < height) {
            size_t n = 0;
            for (; n < group && y < height; n++, y++) png_read_row(png, row + stride * n, NULL);
            if (rows(context, row, stride * n)) { png_destroy_read_struct(&png, &pinfo, NULL); free(row); return 1; }
        }
    }
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &pinfo, NULL);
    free(image);
    free(row);
    return 0;
}

int ixc_jpeg_decode(const uint8_t *data, size_t size, size_t max_bytes, int stored_rgb, ixc_rows_fn rows, void *context,
                    ixc_image_info *info, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    ixc_jpeg_error jerr;
    uint8_t *volatile buffer = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = ixc_jpeg_error_init(&jerr, message, message_size);
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(buffer);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.data_precision != 8) {
        snprintf(message, message_size, "%d-bit JPEG: the system libjpeg-turbo (%d) decodes 8-bit samples only",
                 cinfo.data_precision, LIBJPEG_TURBO_VERSION_NUMBER);
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    /* Progressive and multi-scan images keep every coefficient: width × height × components × 2. */
    if (jpeg_has_multiple_scans(&cinfo)) {
        double need = (double)cinfo.image_width * cinfo.image_height * cinfo.num_components * 2.0;
        if (need > (double)max_bytes) {
            snprintf(message, message_size, "a progressive %ux%u JPEG needs %.0f bytes of coefficients, over the %zu-byte limit",
                     cinfo.image_width, cinfo.image_height, need, max_bytes);
            jpeg_destroy_decompress(&cinfo);
            return 1;
        }
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) cinfo.out_color_space = JCS_CMYK;
    if (stored_rgb && cinfo.num_components == 3) {
        cinfo.jpeg_color_space = JCS_RGB;
        cinfo.out_color_space = JCS_RGB;
    }
    /* Adobe applications write CMYK inverted; Pillow undoes it whenever the Adobe marker is there. */
    int invert = cinfo.out_color_space == JCS_CMYK && cinfo.saw_Adobe_marker;
    jpeg_start_decompress(&cinfo);
    info->width = (int)cinfo.output_width;
    info->height = (int)cinfo.output_height;
    info->channels = cinfo.output_components;
    info->bit_depth = 8;
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    size_t group = cinfo.rec_outbuf_height > 0 ? (size_t)cinfo.rec_outbuf_height : 1;
    if (group < 16) group = 16;
    buffer = malloc(stride * group + 1);
    if (!buffer) { snprintf(message, message_size, "out of memory"); jpeg_destroy_decompress(&cinfo); return 1; }
    JSAMPROW pointers[64];
    for (size_t i = 0; i < group && i < 64; i++) pointers[i] = buffer + stride * i;
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION got = jpeg_read_scanlines(&cinfo, pointers, (JDIMENSION)(group < 64 ? group : 64));
        if (got == 0) break;
        if (invert) for (size_t i = 0; i < stride * got; i++) buffer[i] = (uint8_t)(255 - buffer[i]);
        if (rows(context, buffer, stride * got)) { jpeg_destroy_decompress(&cinfo); free(buffer); return 1; }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(buffer);
    return 0;
}
