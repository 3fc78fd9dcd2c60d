/* JPEG-LS through CharLS 2.4 and JPEG 2000 / HTJ2K through OpenJPEG 2.5: see imagingx_jls_j2k.h. */
#include "imagingx_jls_j2k.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <charls/charls.h>
#include <openjpeg.h>

static void ixc_say(char *message, size_t message_size, const char *format, ...) {
    if (!message || !message_size) return;
    va_list args;
    va_start(args, format);
    vsnprintf(message, message_size, format, args);
    va_end(args);
}

/* The value pydicom returns for decoded integer `v` (see the header). */
static inline int64_t ixc_dicom_value(int64_t v, int precision, int pixel_rep, int correct) {
    int bucket = precision <= 8 ? 8 : precision <= 16 ? 16 : 32;
    uint64_t mask = (1ULL << bucket) - 1;
    uint64_t u = (uint64_t)v & mask;
    int64_t w = (pixel_rep && ((u >> (bucket - 1)) & 1)) ? (int64_t)(u | ~mask) : (int64_t)u;
    if (correct && precision < 64) {
        uint64_t m = (1ULL << precision) - 1;
        uint64_t lo = (uint64_t)w & m;
        w = (pixel_rep && ((lo >> (precision - 1)) & 1)) ? (int64_t)(lo | ~m) : (int64_t)lo;
    }
    return w;
}

static inline void ixc_store(uint8_t *p, int bytes, int64_t w) {
    switch (bytes) {
    case 1: { uint8_t x = (uint8_t)w; *p = x; break; }
    case 2: { uint16_t x = (uint16_t)w; memcpy(p, &x, 2); break; }
    default: { uint32_t x = (uint32_t)w; memcpy(p, &x, 4); break; }
    }
}

static int ixc_check_spec(const ixc_frame_spec *spec, size_t out_size, char *message, size_t message_size) {
    if (spec->width <= 0 || spec->height <= 0 || spec->components <= 0 ||
        (spec->bytes_per_sample != 1 && spec->bytes_per_sample != 2 && spec->bytes_per_sample != 4)) {
        ixc_say(message, message_size, "the DICOM header describes no decodable grid");
        return 3;
    }
    uint64_t need = (uint64_t)spec->width * (uint64_t)spec->height * (uint64_t)spec->components *
                    (uint64_t)spec->bytes_per_sample;
    if (need > out_size) {
        ixc_say(message, message_size, "output buffer of %zu bytes is smaller than the frame (%llu)", out_size,
                (unsigned long long)need);
        return 3;
    }
    return 0;
}

/* ---- JPEG-LS (CharLS) ------------------------------------------------------------------ */

/* CharLS 2.4.1 (Debian) can loop forever on some damaged scans (fixed upstream in CharLS PR #334,
   2024). So the scan is decoded in a forked child writing into a shared mapping, and the parent
   waits with a deadline (1 s plus 0.25 s per MiB of output; CharLS decodes ~50 MiB/s here); a child past it is killed and the frame
   reported as damaged. The child only runs CharLS on memory it inherited and leaves with _exit. */
static int ixc_jls_isolated(charls_jpegls_decoder *decoder, uint8_t *out, size_t need, char *message, size_t message_size) {
    size_t mapped = need + 64;
    void *shared = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) { ixc_say(message, message_size, "JPEG-LS: no memory for the frame"); return 1; }
    volatile int32_t *result = (volatile int32_t *)shared;
    *result = -1;
    uint8_t *pixels = (uint8_t *)shared + 64;
    pid_t pid = fork();
    if (pid < 0) {
        munmap(shared, mapped);
        ixc_say(message, message_size, "JPEG-LS: cannot start the decoder process (%s)", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        charls_jpegls_errc ec = charls_jpegls_decoder_decode_to_buffer(decoder, pixels, need, 0);
        *result = (int32_t)ec;
        _exit(0);
    }
    struct timespec start, now, pause = {0, 20000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    double budget = 1.0 + 0.25 * (double)need / (1 << 20);
    int wstatus = 0, finished = 0;
    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);
        if (r == pid) { finished = 1; break; }
        if (r < 0 && errno != EINTR) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 > budget) break;
        nanosleep(&pause, NULL);
        if (pause.tv_nsec < 2000000) pause.tv_nsec *= 2;
    }
    if (!finished) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
        munmap(shared, mapped);
        ixc_say(message, message_size, "JPEG-LS decoder did not finish within %.0f s (CharLS loops on this damaged scan)", budget);
        return 1;
    }
    int32_t ec = *result;
    if (!WIFEXITED(wstatus) || ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
        munmap(shared, mapped);
        if (ec == -1) ixc_say(message, message_size, "JPEG-LS decoder process ended abnormally");
        else ixc_say(message, message_size, "JPEG-LS data: %s", charls_get_error_message((charls_jpegls_errc)ec));
        return 1;
    }
    memcpy(out, pixels, need);
    munmap(shared, mapped);
    return 0;
}

int ixc_jls_decode(const uint8_t *data, size_t size, const ixc_frame_spec *spec, uint8_t *out, size_t out_size,
                   ixc_codestream_info *info, char *message, size_t message_size) {
    memset(info, 0, sizeof *info);
    int status = ixc_check_spec(spec, out_size, message, message_size);
    if (status) return status;
    charls_jpegls_decoder *decoder = charls_jpegls_decoder_create();
    if (!decoder) { ixc_say(message, message_size, "CharLS could not create a decoder"); return 1; }
    charls_jpegls_errc ec = charls_jpegls_decoder_set_source_buffer(decoder, data, size);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_decoder_read_header(decoder);
    charls_frame_info frame;
    memset(&frame, 0, sizeof frame);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_decoder_get_frame_info(decoder, &frame);
    if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
        ixc_say(message, message_size, "JPEG-LS header: %s", charls_get_error_message(ec));
        charls_jpegls_decoder_destroy(decoder);
        return 1;
    }
    charls_interleave_mode mode = CHARLS_INTERLEAVE_MODE_NONE;
    int32_t near = 0;
    charls_color_transformation transform = CHARLS_COLOR_TRANSFORMATION_NONE;
    (void)charls_jpegls_decoder_get_interleave_mode(decoder, &mode);
    (void)charls_jpegls_decoder_get_near_lossless(decoder, 0, &near);
    (void)charls_jpegls_decoder_get_color_transformation(decoder, &transform);
    info->width = (int)frame.width;
    info->height = (int)frame.height;
    info->components = frame.component_count;
    info->precision = frame.bits_per_sample;
    info->interleave = (int)mode;
    info->near = near;
    info->transform = (int)transform;
    if ((int64_t)frame.width != spec->width || (int64_t)frame.height != spec->height ||
        frame.component_count != spec->components) {
        ixc_say(message, message_size, "JPEG-LS frame is %u×%u with %d components; the DICOM header says %d×%d with %d",
                frame.width, frame.height, frame.component_count, spec->width, spec->height, spec->components);
        charls_jpegls_decoder_destroy(decoder);
        return 3;
    }
    if (frame.bits_per_sample < 2 || frame.bits_per_sample > 16 || frame.bits_per_sample > 8 * spec->bytes_per_sample) {
        ixc_say(message, message_size, "JPEG-LS precision %d bits does not fit Bits Allocated %d",
                frame.bits_per_sample, 8 * spec->bytes_per_sample);
        charls_jpegls_decoder_destroy(decoder);
        return 3;
    }
    int decoded_bytes = frame.bits_per_sample <= 8 ? 1 : 2;
    size_t samples = (size_t)frame.width * frame.height * (size_t)frame.component_count;
    size_t need = 0;
    ec = charls_jpegls_decoder_get_destination_size(decoder, 0, &need);
    if (ec != CHARLS_JPEGLS_ERRC_SUCCESS || need != samples * (size_t)decoded_bytes || need > out_size) {
        ixc_say(message, message_size, "JPEG-LS destination size %zu does not match the frame (%zu samples)", need, samples);
        charls_jpegls_decoder_destroy(decoder);
        return 3;
    }
    status = ixc_jls_isolated(decoder, out, need, message, message_size);
    charls_jpegls_decoder_destroy(decoder);
    if (status) return status;
    /* Widen / correct in place: from the last sample backwards, as the output is at least as wide. */
    int to = spec->bytes_per_sample;
    int rep = spec->pixel_representation;
    int precision = frame.bits_per_sample;
    if (to == decoded_bytes && !rep) return 0;
    for (size_t k = samples; k-- > 0;) {
        int64_t v;
        if (decoded_bytes == 1) v = out[k];
        else { uint16_t x; memcpy(&x, out + 2 * k, 2); v = x; }
        ixc_store(out + (size_t)to * k, to, ixc_dicom_value(v, precision, rep, rep == 1));
    }
    return 0;
}

int ixc_jls_encode(const void *pixels, int width, int height, int components, int bits, int near, int interleave,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    charls_jpegls_encoder *encoder = charls_jpegls_encoder_create();
    if (!encoder) { ixc_say(message, message_size, "CharLS could not create an encoder"); return 1; }
    charls_frame_info frame = {(uint32_t)width, (uint32_t)height, bits, components};
    charls_jpegls_errc ec = charls_jpegls_encoder_set_frame_info(encoder, &frame);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_encoder_set_near_lossless(encoder, near);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS && components > 1)
        ec = charls_jpegls_encoder_set_interleave_mode(encoder, (charls_interleave_mode)interleave);
    size_t capacity = 0;
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_encoder_get_estimated_destination_size(encoder, &capacity);
    uint8_t *buffer = ec == CHARLS_JPEGLS_ERRC_SUCCESS ? malloc(capacity) : NULL;
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS && !buffer) ec = CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY;
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_encoder_set_destination_buffer(encoder, buffer, capacity);
    size_t bytes = (size_t)width * height * components * (bits <= 8 ? 1 : 2);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_encoder_encode_from_buffer(encoder, pixels, bytes, 0);
    size_t written = 0;
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS) ec = charls_jpegls_encoder_get_bytes_written(encoder, &written);
    charls_jpegls_encoder_destroy(encoder);
    if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
        free(buffer);
        ixc_say(message, message_size, "JPEG-LS encode: %s", charls_get_error_message(ec));
        return 1;
    }
    *out = buffer;
    *out_size = written;
    return 0;
}

/* ---- JPEG 2000 (OpenJPEG) -------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} ixc_memory;

static OPJ_SIZE_T ixc_mem_read(void *buffer, OPJ_SIZE_T n, void *user) {
    ixc_memory *m = user;
    if (m->pos >= m->size) return (OPJ_SIZE_T)-1;
    size_t take = m->size - m->pos < n ? m->size - m->pos : n;
    memcpy(buffer, m->data + m->pos, take);
    m->pos += take;
    return take;
}

static OPJ_OFF_T ixc_mem_skip(OPJ_OFF_T n, void *user) {
    ixc_memory *m = user;
    if (n < 0) {
        if ((uint64_t)(-n) > m->pos) return -1;
        m->pos -= (size_t)(-n);
        return n;
    }
    if ((uint64_t)n > m->size - m->pos) { m->pos = m->size; return -1; }
    m->pos += (size_t)n;
    return n;
}

static OPJ_BOOL ixc_mem_seek(OPJ_OFF_T n, void *user) {
    ixc_memory *m = user;
    if (n < 0 || (uint64_t)n > m->size) return OPJ_FALSE;
    m->pos = (size_t)n;
    return OPJ_TRUE;
}

typedef struct { char *message; size_t size; int said; } ixc_opj_messages;

static void ixc_opj_error(const char *text, void *client) {
    ixc_opj_messages *m = client;
    if (m->said || !m->message || !m->size) return;
    m->said = 1;
    snprintf(m->message, m->size, "%s", text);
    size_t n = strlen(m->message);
    while (n > 0 && (m->message[n - 1] == '\n' || m->message[n - 1] == '\r')) m->message[--n] = 0;
}

static void ixc_opj_quiet(const char *text, void *client) { (void)text; (void)client; }

static uint32_t ixc_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint16_t ixc_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The codestream's main header (ISO/IEC 15444-1 A.5.1 SIZ, A.6.1 COD), read by hand so that a
   claimed grid is checked before OpenJPEG allocates anything. A JP2 file wrapper is skipped to
   its jp2c box. Returns 0, or 1 with a message (offsets from the frame start). */
static int ixc_j2k_main_header(const uint8_t *data, size_t size, ixc_codestream_info *info, int *codec_jp2,
                               uint64_t *tiles, char *message, size_t message_size) {
    size_t at = 0;
    *codec_jp2 = 0;
    static const uint8_t jp2[8] = {0, 0, 0, 12, 0x6A, 0x50, 0x20, 0x20};
    if (size >= 12 && memcmp(data, jp2, 8) == 0) {
        *codec_jp2 = 1;
        at = 12;
        for (;;) {
            if (size - at < 8) { ixc_say(message, message_size, "JP2 file without a codestream box (at %zu)", at); return 1; }
            uint64_t length = ixc_be32(data + at);
            size_t header = 8;
            if (length == 1) {
                if (size - at < 16) { ixc_say(message, message_size, "JP2 box header cut short at %zu", at); return 1; }
                length = (uint64_t)ixc_be32(data + at + 8) << 32 | ixc_be32(data + at + 12);
                header = 16;
            } else if (length == 0) {
                length = size - at;
            }
            if (memcmp(data + at + 4, "jp2c", 4) == 0) { at += header; break; }
            if (length < header || length > size - at) {
                ixc_say(message, message_size, "JP2 box at %zu claims %llu bytes", at, (unsigned long long)length);
                return 1;
            }
            at += (size_t)length;
        }
    }
    size_t soc = at;
    if (size - at < 4 || data[at] != 0xFF || data[at + 1] != 0x4F || data[at + 2] != 0xFF || data[at + 3] != 0x51) {
        ixc_say(message, message_size, "no JPEG 2000 codestream (SOC, SIZ markers) at %zu", at);
        return 1;
    }
    at += 4;
    if (size - at < 2) { ixc_say(message, message_size, "SIZ marker cut short at %zu", at); return 1; }
    size_t lsiz = ixc_be16(data + at);
    if (lsiz < 41 || lsiz > size - at) { ixc_say(message, message_size, "SIZ marker length %zu at %zu", lsiz, at); return 1; }
    const uint8_t *s = data + at;
    uint16_t rsiz = ixc_be16(s + 2);
    uint32_t xsiz = ixc_be32(s + 4), ysiz = ixc_be32(s + 8), x0 = ixc_be32(s + 12), y0 = ixc_be32(s + 16);
    uint32_t xt = ixc_be32(s + 20), yt = ixc_be32(s + 24), xt0 = ixc_be32(s + 28), yt0 = ixc_be32(s + 32);
    uint16_t csiz = ixc_be16(s + 36);
    if (xsiz <= x0 || ysiz <= y0 || xt == 0 || yt == 0 || xt0 > x0 || yt0 > y0 || csiz == 0 ||
        lsiz != 38 + 3 * (size_t)csiz) {
        ixc_say(message, message_size, "SIZ marker at %zu describes no valid grid (%u×%u from %u,%u, %u components)",
                at - 2, xsiz, ysiz, x0, y0, csiz);
        return 1;
    }
    info->width = (int)(xsiz - x0 > INT_MAX ? INT_MAX : xsiz - x0);
    info->height = (int)(ysiz - y0 > INT_MAX ? INT_MAX : ysiz - y0);
    info->components = csiz;
    info->precision = (s[38] & 0x7F) + 1;
    info->is_signed = (s[38] & 0x80) != 0;
    info->htj2k = (rsiz & 0x4000) != 0;
    for (int c = 0; c < csiz; c++) {
        const uint8_t *comp = s + 38 + 3 * c;
        if (comp[1] != 1 || comp[2] != 1) {
            ixc_say(message, message_size, "component %d is subsampled (%u×%u): not decoded", c, comp[1], comp[2]);
            return 2;
        }
        if ((comp[0] & 0x7F) != (s[38] & 0x7F) || (comp[0] & 0x80) != (s[38] & 0x80)) {
            ixc_say(message, message_size, "components differ in precision or signedness: not decoded");
            return 2;
        }
    }
    /* Tiles: OpenJPEG keeps a record per tile; at most 65535 (as OpenJPEG itself), checked by the caller. */
    uint64_t tx = ((uint64_t)xsiz - xt0 + xt - 1) / xt, ty = ((uint64_t)ysiz - yt0 + yt - 1) / yt;
    *tiles = tx * ty;
    /* COD (the default coding style) up to the first tile: its multiple component transform byte. */
    at += lsiz;
    while (size - at >= 4 && data[at] == 0xFF && data[at + 1] != 0x90) {
        size_t length = ixc_be16(data + at + 2);
        if (length < 2 || length > size - at - 2) break;
        if (data[at + 1] == 0x52 && length >= 8) info->transform = data[at + 2 + 7] != 0;
        at += 2 + length;
    }
    (void)soc;
    return 0;
}

int ixc_j2k_decode(const uint8_t *data, size_t size, const ixc_frame_spec *spec, uint8_t *out, size_t out_size,
                   ixc_codestream_info *info, char *message, size_t message_size) {
    memset(info, 0, sizeof *info);
    int status = ixc_check_spec(spec, out_size, message, message_size);
    if (status) return status;
    int jp2 = 0;
    uint64_t tiles = 0;
    status = ixc_j2k_main_header(data, size, info, &jp2, &tiles, message, message_size);
    if (status) return status;
    if (info->width != spec->width || info->height != spec->height || info->components != spec->components) {
        ixc_say(message, message_size, "JPEG 2000 image is %d×%d with %d components; the DICOM header says %d×%d with %d",
                info->width, info->height, info->components, spec->width, spec->height, spec->components);
        return 3;
    }
    if (info->precision > 8 * spec->bytes_per_sample || info->precision > 32) {
        ixc_say(message, message_size, "JPEG 2000 precision %d bits does not fit Bits Allocated %d",
                info->precision, 8 * spec->bytes_per_sample);
        return 3;
    }
    if (tiles > 65535) {
        ixc_say(message, message_size, "SIZ marker claims %llu tiles", (unsigned long long)tiles);
        return 1;
    }
    uint64_t planes = (uint64_t)spec->width * spec->height * spec->components * 4;
    if (planes > spec->max_bytes) {
        ixc_say(message, message_size, "decoding needs %llu bytes of component planes, over the %zu-byte limit",
                (unsigned long long)planes, spec->max_bytes);
        return 3;
    }

    ixc_opj_messages messages = {message, message_size, 0};
    ixc_memory memory = {data, size, 0};
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_stream_t *stream = opj_stream_create(size < (1 << 20) ? size + 1 : (1 << 20), OPJ_TRUE);
    opj_image_t *image = NULL;
    status = 1;
    if (!codec || !stream) { ixc_say(message, message_size, "OpenJPEG could not create a decoder"); goto done; }
    opj_set_error_handler(codec, ixc_opj_error, &messages);
    opj_set_warning_handler(codec, ixc_opj_quiet, NULL);
    opj_set_info_handler(codec, ixc_opj_quiet, NULL);
    opj_stream_set_user_data(stream, &memory, NULL);
    opj_stream_set_user_data_length(stream, size);
    opj_stream_set_read_function(stream, ixc_mem_read);
    opj_stream_set_skip_function(stream, ixc_mem_skip);
    opj_stream_set_seek_function(stream, ixc_mem_seek);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(codec, &parameters)) goto failed;
    if (!opj_read_header(stream, codec, &image) || !image) goto failed;
    if ((int)image->numcomps != spec->components) goto mismatch;
    for (OPJ_UINT32 c = 0; c < image->numcomps; c++) {
        opj_image_comp_t *comp = &image->comps[c];
        if (comp->dx != 1 || comp->dy != 1 || (int)comp->prec != info->precision) goto mismatch;
    }
    if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) goto failed;
    size_t pixels = (size_t)spec->width * spec->height;
    for (OPJ_UINT32 c = 0; c < image->numcomps; c++) {
        opj_image_comp_t *comp = &image->comps[c];
        if (!comp->data || (int)comp->w != spec->width || (int)comp->h != spec->height) goto mismatch;
    }
    {
        int to = spec->bytes_per_sample, rep = spec->pixel_representation;
        int correct = spec->sign_correction && info->is_signed != rep;
        int n = spec->components, precision = info->precision;
        for (int c = 0; c < n; c++) {
            const OPJ_INT32 *plane = image->comps[c].data;
            uint8_t *o = out + (size_t)to * c;
            for (size_t i = 0; i < pixels; i++, o += (size_t)to * n)
                ixc_store(o, to, ixc_dicom_value(plane[i], precision, rep, correct));
        }
    }
    status = 0;
    goto done;
mismatch:
    ixc_say(message, message_size, "OpenJPEG's image differs from the codestream header read before decoding");
    status = 3;
    goto done;
failed:
    if (!messages.said) ixc_say(message, message_size, "OpenJPEG could not decode the codestream");
    status = 1;
done:
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
    return status;
}

/* ---- JPEG 2000 encoder (fixtures) -------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t size, capacity, pos;
    int failed;
} ixc_growing;

static int ixc_grow(ixc_growing *g, size_t end) {
    if (end <= g->capacity) return 1;
    size_t capacity = g->capacity ? g->capacity : 4096;
    while (capacity < end) capacity *= 2;
    uint8_t *grown = realloc(g->data, capacity);
    if (!grown) { g->failed = 1; return 0; }
    memset(grown + g->capacity, 0, capacity - g->capacity);
    g->data = grown;
    g->capacity = capacity;
    return 1;
}

static OPJ_SIZE_T ixc_out_write(void *buffer, OPJ_SIZE_T n, void *user) {
    ixc_growing *g = user;
    if (!ixc_grow(g, g->pos + n)) return (OPJ_SIZE_T)-1;
    memcpy(g->data + g->pos, buffer, n);
    g->pos += n;
    if (g->pos > g->size) g->size = g->pos;
    return n;
}

static OPJ_OFF_T ixc_out_skip(OPJ_OFF_T n, void *user) {
    ixc_growing *g = user;
    if (n < 0 && (uint64_t)(-n) > g->pos) return -1;
    size_t end = (size_t)((OPJ_OFF_T)g->pos + n);
    if (!ixc_grow(g, end)) return -1;
    g->pos = end;
    if (g->pos > g->size) g->size = g->pos;
    return n;
}

static OPJ_BOOL ixc_out_seek(OPJ_OFF_T n, void *user) {
    ixc_growing *g = user;
    if (n < 0 || !ixc_grow(g, (size_t)n)) return OPJ_FALSE;
    g->pos = (size_t)n;
    if (g->pos > g->size) g->size = g->pos;
    return OPJ_TRUE;
}

int ixc_j2k_encode(const int32_t *pixels, int width, int height, int components, int precision, int is_signed,
                   int irreversible, float ratio, int mct, uint8_t **out, size_t *out_size,
                   char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || components <= 0 || components > 4 || precision < 1 || precision > 16) {
        ixc_say(message, message_size, "unsupported JPEG 2000 encode parameters");
        return 1;
    }
    opj_image_cmptparm_t parms[4];
    memset(parms, 0, sizeof parms);
    for (int c = 0; c < components; c++) {
        parms[c].dx = parms[c].dy = 1;
        parms[c].w = (OPJ_UINT32)width;
        parms[c].h = (OPJ_UINT32)height;
        parms[c].prec = (OPJ_UINT32)precision;
        parms[c].sgnd = is_signed ? 1 : 0;
    }
    opj_image_t *image = opj_image_create((OPJ_UINT32)components, parms, components == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (!image) { ixc_say(message, message_size, "OpenJPEG could not create an image"); return 1; }
    image->x0 = image->y0 = 0;
    image->x1 = (OPJ_UINT32)width;
    image->y1 = (OPJ_UINT32)height;
    size_t n = (size_t)width * height;
    for (int c = 0; c < components; c++)
        for (size_t i = 0; i < n; i++) image->comps[c].data[i] = pixels[i * components + c];
    opj_cparameters_t parameters;
    opj_set_default_encoder_parameters(&parameters);
    parameters.tcp_numlayers = 1;
    parameters.cp_disto_alloc = 1;
    parameters.tcp_rates[0] = irreversible ? ratio : 0;
    parameters.irreversible = irreversible ? 1 : 0;
    parameters.tcp_mct = (char)(mct && components == 3 ? 1 : 0);
    int levels = 5;
    while (levels > 0 && ((width >> levels) < 1 || (height >> levels) < 1)) levels--;
    parameters.numresolution = levels + 1;
    ixc_opj_messages messages = {message, message_size, 0};
    ixc_growing sink = {0};
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_FALSE);
    int status = 1;
    if (codec && stream) {
        opj_set_error_handler(codec, ixc_opj_error, &messages);
        opj_set_warning_handler(codec, ixc_opj_quiet, NULL);
        opj_set_info_handler(codec, ixc_opj_quiet, NULL);
        opj_stream_set_user_data(stream, &sink, NULL);
        opj_stream_set_write_function(stream, ixc_out_write);
        opj_stream_set_skip_function(stream, ixc_out_skip);
        opj_stream_set_seek_function(stream, ixc_out_seek);
        if (opj_setup_encoder(codec, &parameters, image) && opj_start_compress(codec, image, stream) &&
            opj_encode(codec, stream) && opj_end_compress(codec, stream) && !sink.failed)
            status = 0;
    }
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
    opj_image_destroy(image);
    if (status) {
        if (!messages.said) ixc_say(message, message_size, "OpenJPEG could not encode the image");
        free(sink.data);
        return 1;
    }
    *out = sink.data;
    *out_size = sink.size;
    return 0;
}
