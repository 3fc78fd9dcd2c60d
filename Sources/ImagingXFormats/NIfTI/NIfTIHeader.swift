import ImagingXModel
/// What a NIfTI-1, NIfTI-2 or Analyze 7.5 header says, read as nibabel reads it (its load-time
/// fixes applied), the findings the reader noticed, and where the voxels are: all that the record
/// (`NIfTIRecord.fill`) and the voxel decoder need. Only a readable header is made into one.
///
/// Values sit in fixed-size storage, as in the file; the record's arrays (`dims`, `spacing`) are
/// made from them once, when the record is filled, so a header costs no allocation of its own.
package struct NIfTIHeader {
    /// Where the voxel data is and how it is stored: what the size check and the decoder read
    /// after the header has gone into the record.
    package struct VoxelData {
        /// Byte where the voxel data starts (vox_offset, never inside the header of a single file).
        package var voxOffset: Int
        /// Bytes the voxel data needs (Int.max when the product overflows).
        package var dataBytes: Int
        /// Voxel data in a separate `.img` file ("ni1"/"ni2" magic, or Analyze).
        package var isPair: Bool
        /// The `datatype` code's entry (nifti1.h `NIFTI_TYPE_*`).
        package var type: NIfTIDataType
        /// Byte order of the header and of the voxel data.
        package var bigEndian: Bool

        /// The header's `datatype` code.
        package var datatype: Int { type.code }
    }

    /// `.nifti1`, `.nifti2` or `.analyze` (an unknown NIfTI version is refused before).
    package var variant: NIfTIReader.Variant
    /// dim[0], the number of dimensions (1…7), and dim[1] … dim[dim[0]] (0 past dim[0]).
    package var ndim: Int
    package var dim: InlineArray<7, Int>
    /// `bitpix` as stored; a value other than `voxels.type.bits` is a finding.
    package var bitpix: Int
    /// pixdim[1] … pixdim[dim[0]] in the header's units, with nibabel's fixes for the spatial
    /// axes (0 → 1, negative → |pixdim|); 0 past dim[0].
    package var pixdimFixed: InlineArray<7, Double>
    /// `xyzt_units` as stored (nifti1.h `NIFTI_UNITS_*`: space in bits 0–2, time in bits 3–5).
    package var xyztUnits: Int
    /// scl_slope / scl_inter as nibabel's `get_slope_inter` (NIfTI), or SPM2's scale factor
    /// (Analyze); nil when the file asks for no scaling.
    package var rescaleSlope: Double?
    package var rescaleIntercept: Double?
    /// Voxel index to RAS+ mm as nibabel picks it: sform, else qform, else the SPM origin
    /// (Analyze), else the base affine from pixdim.
    package var affine: Matrix4
    package var voxels: VoxelData
    /// Odd but readable facts, in the order the reader met them.
    package var findings: [Finding]

    /// Millimetres per spatial unit (NIFTI_UNITS_METER 1, _MM 2, _MICRON 3); nil when the
    /// header names none (then millimetres are assumed).
    static func millimetresPer(spaceUnit: Int) -> Double? {
        switch spaceUnit {
        case 1: 1000
        case 2: 1
        case 3: 0.001
        default: nil
        }
    }

    /// Seconds per temporal unit (NIFTI_UNITS_MSEC 16, _USEC 24; seconds and unknown as is).
    static func secondsPer(timeUnit: Int) -> Double {
        switch timeUnit {
        case 16: 0.001
        case 24: 0.000001
        default: 1
        }
    }

    /// dim[1] … dim[dim[0]]: the grid, fastest axis first.
    package var dims: [Int] { (0..<ndim).map { dim[$0] } }

    /// pixdim[1] … pixdim[dim[0]] after nibabel's fixes, in the header's units.
    package var pixdim: [Double] { (0..<ndim).map { pixdimFixed[$0] } }

    /// `pixdim` in millimetres (axes 1–3) and seconds (axis 4), from `xyzt_units`.
    package var spacing: [Double] {
        let space = NIfTIHeader.millimetresPer(spaceUnit: xyztUnits & 0x07) ?? 1
        let time = NIfTIHeader.secondsPer(timeUnit: xyztUnits & 0x38)
        return (0..<ndim).map { i in
            i < 3 ? pixdimFixed[i] * space : i == 3 ? pixdimFixed[i] * time : pixdimFixed[i]
        }
    }
}
