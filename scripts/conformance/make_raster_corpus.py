"""Writes the PNG/JPEG conformance corpus.

Pillow writes every mode it can; what Pillow cannot write (Adam7 interlacing, 16-bit colour,
unit-less pHYs, 12-bit and lossless JPEG frames) is written by the small encoders below,
straight from the PNG and JPEG specifications, so that our reader is compared with Pillow's
on those files too (where Pillow can open them).
"""
import io
import os
import struct
import sys
import zlib

from PIL import Image


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width, height, bit_depth, color_type, rows, interlace=False, phys=None, extra=b""):
    """rows: list of bytes objects, each a packed scanline (PNG sample layout)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    bits_pp = channels * bit_depth
    raw = bytearray()
    if not interlace:
        for r in rows:
            raw += b"\x00" + r
    else:
        # Adam7 (PNG §8.2): seven passes over sub-sampled pixels.
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            xs = list(range(x0, width, dx))
            ys = list(range(y0, height, dy))
            if not xs or not ys:
                continue
            for y in ys:
                bits = []
                for x in xs:
                    start = x * bits_pp
                    value = int.from_bytes(rows[y], "big") >> (len(rows[y]) * 8 - start - bits_pp) & ((1 << bits_pp) - 1)
                    bits.append(value)
                raw += b"\x00" + pack(bits, bits_pp)
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if color_type == 3:
        data += chunk(b"PLTE", bytes(i % 256 for i in range(3 * (1 << bit_depth))))
    if phys is not None:
        data += chunk(b"pHYs", struct.pack(">IIB", *phys))
    data += extra
    data += chunk(b"IDAT", zlib.compress(bytes(raw)))
    data += chunk(b"IEND", b"")
    return data


def pack(values, bits):
    """Packs values of `bits` bits each, most significant first, padding the last byte (PNG §7.2)."""
    acc = nbits = 0
    out = bytearray()
    for v in values:
        acc = (acc << bits) | v
        nbits += bits
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def packed_rows(width, height, channels, bit_depth, seed):
    levels = 1 << bit_depth
    return [pack([(x * 7 + y * 13 + seed) % levels for x in range(width * channels)], bit_depth) for y in range(height)]


def jpeg_header_only(sof_marker, precision, width, height, components, jfif=None):
    """A JPEG stream with SOI, optional JFIF, a frame header and EOI: enough for header readers."""
    out = b"\xff\xd8"
    if jfif is not None:
        unit, xd, yd = jfif
        out += b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x02" + struct.pack(">BHHBB", unit, xd, yd, 0, 0)
    comps = b"".join(struct.pack(">BBB", i + 1, 0x11, 0) for i in range(components))
    out += bytes([0xFF, sof_marker]) + struct.pack(">HBHHB", 8 + 3 * components, precision, height, width, components) + comps
    # A scan header and a few entropy-coded bytes: readers that stop at SOS (Pillow's open) accept it.
    sos = bytes([components]) + b"".join(struct.pack(">BB", i + 1, 0) for i in range(components)) + b"\x00\x3f\x00"
    out += b"\xff\xda" + struct.pack(">H", 2 + len(sos)) + sos + b"\x00" * 16
    out += b"\xff\xd9"
    return out


def exif_block(x_res, y_res, unit, big_endian=False):
    e = ">" if big_endian else "<"
    entries = []
    # IFD0 with XResolution, YResolution (RATIONAL) and ResolutionUnit (SHORT).
    n = 3 if unit is not None else 2
    ifd_offset = 8
    data_offset = ifd_offset + 2 + n * 12 + 4
    entries.append(struct.pack(e + "HHII", 0x011A, 5, 1, data_offset))
    entries.append(struct.pack(e + "HHII", 0x011B, 5, 1, data_offset + 8))
    if unit is not None:
        entries.append(struct.pack(e + "HHIHH", 0x0128, 3, 1, unit, 0))
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, ifd_offset)
    tiff += struct.pack(e + "H", n) + b"".join(entries) + struct.pack(e + "I", 0)
    tiff += struct.pack(e + "II", x_res[0], x_res[1]) + struct.pack(e + "II", y_res[0], y_res[1])
    return b"Exif\x00\x00" + tiff


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    written = []

    def save(name, data):
        path = os.path.join(out_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        written.append(name)

    def pillow(name, im, fmt, **kw):
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        save(name, buf.getvalue())

    w, h = 37, 23
    # Pillow-written PNGs: every mode Pillow writes, with and without pHYs (dpi → pixels/metre).
    for mode in ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]:
        im = Image.new(mode, (w, h))
        safe = mode.replace(";", "")
        pillow(f"pil_{safe}.png", im, "PNG")
        pillow(f"pil_{safe}_dpi.png", im, "PNG", dpi=(300, 150))
    for bits in (1, 2, 4):
        im = Image.new("P", (w, h))
        pillow(f"pil_P_bits{bits}.png", im, "PNG", bits=bits)
    im = Image.new("P", (w, h))
    pillow("pil_P_transparency.png", im, "PNG", transparency=0)

    # Hand-encoded PNGs: every (colour type, bit depth) pair of PNG §11.2.2, plain and Adam7,
    # pHYs in metres and unit-less.
    pairs = [(0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (2, 8), (2, 16), (3, 1), (3, 2), (3, 4), (3, 8),
             (4, 8), (4, 16), (6, 8), (6, 16)]
    for ct, bd in pairs:
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ct]
        rows = packed_rows(w, h, channels, bd, seed=ct * 31 + bd)
        save(f"spec_ct{ct}_bd{bd}.png", png_bytes(w, h, bd, ct, rows))
        save(f"spec_ct{ct}_bd{bd}_adam7.png", png_bytes(w, h, bd, ct, rows, interlace=True, phys=(3937, 3937, 1)))
    rows = packed_rows(w, h, 1, 8, seed=5)
    save("spec_phys_aspect.png", png_bytes(w, h, 8, 0, rows, phys=(2, 1, 0)))
    save("spec_phys_anisotropic.png", png_bytes(w, h, 8, 0, rows, phys=(10000, 5000, 1)))
    save("spec_text_before_phys.png", png_bytes(w, h, 8, 0, rows, extra=chunk(b"tEXt", b"Comment\x00" + b"x" * 70000) + chunk(b"pHYs", struct.pack(">IIB", 2000, 2000, 1))))

    # Pillow-written JPEGs: L, RGB, CMYK; baseline and progressive; with and without dpi.
    for mode in ["L", "RGB", "CMYK"]:
        im = Image.new(mode, (w, h))
        pillow(f"pil_{mode}.jpg", im, "JPEG")
        pillow(f"pil_{mode}_dpi.jpg", im, "JPEG", dpi=(200, 100))
        pillow(f"pil_{mode}_progressive.jpg", im, "JPEG", progressive=True, dpi=(72, 72))
    im = Image.new("RGB", (w, h))
    pillow("pil_RGB_444.jpg", im, "JPEG", subsampling=0, quality=95)
    exif = Image.Exif()
    exif[0x011A] = 254.0
    exif[0x011B] = 254.0
    exif[0x0128] = 3
    pillow("pil_RGB_exif_cm.jpg", im, "JPEG", exif=exif.tobytes())

    # Hand-made JPEG headers: JFIF in dots/cm, Exif-only resolution (both byte orders), 12-bit,
    # lossless and arithmetic frames that Pillow's 8-bit libjpeg build cannot open.
    save("spec_jfif_dpcm.jpg", jpeg_header_only(0xC0, 8, w, h, 3, jfif=(2, 118, 59)))
    save("spec_jfif_aspect.jpg", jpeg_header_only(0xC0, 8, w, h, 1, jfif=(0, 1, 1)))
    for big in (False, True):
        ex = exif_block((300, 1), (300, 1), 2, big_endian=big)
        base = jpeg_header_only(0xC0, 8, w, h, 3)
        seg = b"\xff\xe1" + struct.pack(">H", len(ex) + 2) + ex
        save(f"spec_exif_{'be' if big else 'le'}.jpg", base[:2] + seg + base[2:])
    save("spec_extended_12bit.jpg", jpeg_header_only(0xC1, 12, w, h, 1, jfif=(1, 96, 96)))
    save("spec_lossless_16bit.jpg", jpeg_header_only(0xC3, 16, w, h, 1))
    save("spec_progressive_arith.jpg", jpeg_header_only(0xCA, 8, w, h, 3))
    return written


if __name__ == "__main__":
    names = main(sys.argv[1])
    print(f"wrote {len(names)} files to {sys.argv[1]}")
