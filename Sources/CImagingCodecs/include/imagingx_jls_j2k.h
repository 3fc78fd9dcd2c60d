#ifndef IMAGINGX_JLS_J2K_H
#define IMAGINGX_JLS_J2K_H
#include <stddef.h>
#include <stdint.h>

/* JPEG-LS (CharLS 2.4) and JPEG 2000 / HTJ2K (OpenJPEG 2.5) frames of DICOM Pixel Data.
   Both libraries report errors by return code (CharLS's C API) or callback (OpenJPEG), never by
   exit/abort; messages are kept, nothing is printed.

   The codestream header is read and checked against what the DICOM header says before anything
   is allocated for the image: grid, components, precision (at most 8 × bytes_per_sample bits),
   and the memory OpenJPEG would need (4 bytes a sample) against `max_bytes`.

   Output: width × height × components samples of `bytes_per_sample` bytes (host order),
   pixel-interleaved except JPEG-LS interleave mode none (planes one after another), holding the
   values pydicom 3.0.2 + pylibjpeg return (pixels/decoders/base.py, pylibjpeg.py):
     - the decoded integer is read in the container its precision implies (≤ 8 → 1 byte,
       ≤ 16 → 2, else 4 bytes) with the signedness of Pixel Representation;
     - J2K, when `sign_correction` (MONOCHROME1/2) and the codestream's signedness differs from
       Pixel Representation: its low `precision` bits, sign-extended when Pixel Representation is 1;
     - JPEG-LS with Pixel Representation 1 (JPEG-LS has no signedness): the same, always.
   J2K components with a multiple component transform are returned as RGB (OpenJPEG applies the
   inverse RCT/ICT), as pydicom does for YBR_RCT/YBR_ICT.

   Return: 0 decoded; 1 damaged data; 2 a variant not decoded (subsampled components, differing
   precisions …); 3 the codestream disagrees with the DICOM header or exceeds max_bytes.
   `message` says which, and where in the codestream when known. */

typedef struct {
    int width, height, components;
    int bytes_per_sample;       /* BitsAllocated / 8: 1, 2 or 4 */
    int pixel_representation;   /* 0 unsigned, 1 two's complement */
    int sign_correction;        /* J2K only: apply pydicom's signedness correction */
    size_t max_bytes;
} ixc_frame_spec;

typedef struct {
    int width, height, components;
    int precision;              /* bits per sample (J2K: first component) */
    int is_signed;              /* J2K: first component signed */
    int interleave;             /* JPEG-LS: 0 none, 1 line, 2 sample */
    int near;                   /* JPEG-LS NEAR */
    int transform;              /* J2K: multiple component transform used; JPEG-LS: HP colour transform */
    int htj2k;                  /* J2K: the codestream uses HT code-blocks (Rsiz / CAP) */
} ixc_codestream_info;

int ixc_jls_decode(const uint8_t *data, size_t size, const ixc_frame_spec *spec, uint8_t *out, size_t out_size,
                   ixc_codestream_info *info, char *message, size_t message_size);

int ixc_j2k_decode(const uint8_t *data, size_t size, const ixc_frame_spec *spec, uint8_t *out, size_t out_size,
                   ixc_codestream_info *info, char *message, size_t message_size);

/* Encoders for fixtures. JPEG-LS: samples of 1 byte (bits ≤ 8) or 2 bytes (host order),
   pixel-interleaved, or planar when interleave is 0 and components > 1. */
int ixc_jls_encode(const void *pixels, int width, int height, int components, int bits, int near, int interleave,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size);

/* JPEG 2000 (J2K codestream): `pixels` as int32, pixel-interleaved. irreversible 0 → 5/3
   lossless; 1 → 9/7 at `ratio`:1. mct 1 → RCT/ICT on 3 components. */
int ixc_j2k_encode(const int32_t *pixels, int width, int height, int components, int precision, int is_signed,
                   int irreversible, float ratio, int mct, uint8_t **out, size_t *out_size,
                   char *message, size_t message_size);

#endif
