// The application layer re-exports the layers below, so `import ImagingX` is the library.
@_exported import ImagingXBytes
@_exported import ImagingXModel
@_exported import ImagingXFormats
@_exported import ImagingXPixels
@_exported import ImagingXScan
@_exported import ImagingXDatasets
@_exported import ImagingXMDFP
@_exported import ImagingXIndex
@_exported import ImagingXIndexPostgres
