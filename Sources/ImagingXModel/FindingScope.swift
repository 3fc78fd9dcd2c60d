/// Which findings stop pixel statistics.
///
/// The rule: statistics describe the stored values, not where they sit in space. A finding
/// blocks them only when it is at error level AND says the pixels themselves cannot be
/// decoded as described (their grid, sample size or encoding). Geometry findings — zero,
/// negative, missing or non-finite spacing, orientation, position, affine, qform/sform, units —
/// never do: a scan with a broken PixelSpacing still gets its intensities. The switch is
/// exhaustive, so every new finding code must be placed on one side.
extension FindingCode {
    public var blocksPixelStatistics: Bool {
        switch self {
        // The pixel grid or its encoding.
        case .bitsAllocatedMissing, .bitpixMismatch, .framesInvalid, .voxOffsetInvalid:
            return true
        // Geometry, value transforms recorded elsewhere, and facts about the file.
        case .cmyk, .densityAspectOnly, .dicomdir, .fileMetaImplicitVr, .geometryMissing, .geometryVm,
             .heightInDnl, .noFileMeta, .noImage, .noXform, .orientationLabelMismatch, .orientationNotOrthonormal, .palette,
             .physAspectOnly, .physLength, .physZero, .pixdimNonfinite, .pixdimNonpositive,
             .pixelDataAbsent, .pixelSpacingVm, .qfacInvalid, .qformCodeInvalid, .qformSformMismatch,
             .quaternionInvalid, .rescaleSlopeZero, .sclInterInvalid, .sformCodeInvalid, .sformNonfinite,
             .sopClassMissing, .spaceUnitsUnknown, .spacingFromImager, .spacingMissing, .spacingNonpositive,
             .spmOrigin, .strayDelimiter, .transferSyntaxMissing, .voxOffsetLow, .vrEncodingMismatch:
            return false
        }
    }
}
