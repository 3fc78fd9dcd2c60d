"""Palette Color images that borrow the LUTs of the DICOM well-known colour palettes (PS3.6
Annex B, shipped with pydicom: HOT_IRON, PET, HOT_METAL_BLUE, PET_20_STEP as plain 8-bit LUTs;
SPRING, SUMMER, FALL, WINTER as segmented LUTs), so the conformance run compares our Palette
Color expansion with pydicom's `apply_color_lut` on LUTs we did not write. Each palette gives
a native image of every index 0-255 and an RLE Lossless copy (pydicom's own RLE encoder).

Usage: make_palette_corpus.py OUTDIR
"""
import glob, os, sys
import numpy as np
import pydicom, pydicom.data
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid


def main(out):
    os.makedirs(out, exist_ok=True)
    palettes = sorted(glob.glob(os.path.join(os.path.dirname(pydicom.data.__file__), "palettes", "*.dcm")))
    for path in palettes:
        src = pydicom.dcmread(path)
        for rle in (False, True):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
            meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path, str(rle)])
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.SOPClassUID = meta.MediaStorageSOPClassUID
            ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
            ds.Modality = "OT"
            ds.Rows, ds.Columns = 16, 32
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "PALETTE COLOR"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
            for e in src:
                if e.tag.group == 0x0028 and 0x1101 <= e.tag.element <= 0x1223:
                    ds.add(e)
            ds.PixelData = np.concatenate([np.arange(256), np.arange(255, -1, -1)]).astype(np.uint8).tobytes()
            if rle:
                ds.compress(RLELossless, encoding_plugin="pydicom")
            name = os.path.splitext(os.path.basename(path))[0] + ("-rle" if rle else "") + ".dcm"
            ds.save_as(os.path.join(out, name), enforce_file_format=True)


if __name__ == "__main__":
    main(sys.argv[1])
