// Reading MRD (ISMRMRD) HDF5 files with Debian's libismrmrd, for `lpnd send --mrd`.
// A thin C layer: libismrmrd's acquisition data is C99 `float complex`, which Swift cannot
// import, and its dataset header needs HDF5's include path; here both stay on the C side.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct lpnd_mrd_file lpnd_mrd_file;

/// Opens FILE's GROUP (MRD's default group is "dataset"); NULL when it cannot.
lpnd_mrd_file *lpnd_mrd_open(const char *path, const char *group);
void lpnd_mrd_close(lpnd_mrd_file *file);
/// The XML header (owned by the file; NULL when absent).
const char *lpnd_mrd_header(lpnd_mrd_file *file);
uint32_t lpnd_mrd_count(lpnd_mrd_file *file);
/// Reads acquisition INDEX: the packed 340-byte header into HEADER, and pointers to its
/// trajectory and data floats (valid until the next read or close) with their float counts.
/// Returns 0 on success.
int lpnd_mrd_read(lpnd_mrd_file *file, uint32_t index, uint8_t header[340],
                  const float **trajectory, size_t *trajectory_floats,
                  const float **data, size_t *data_floats);

/// Opens FILE's GROUP for writing, creating the file when needed; NULL when it cannot.
lpnd_mrd_file *lpnd_mrd_create(const char *path, const char *group);
/// Appends one image to VARNAME (MRD's "images" group convention: header, attributes, data):
/// HEADER is the packed 198-byte ISMRMRD_ImageHeader, then the attribute text and the data
/// (the size its header's matrix, channels and data type give). Returns 0 on success.
int lpnd_mrd_append_image(lpnd_mrd_file *file, const char *varname, const uint8_t header[198],
                          const char *attributes, size_t attributes_length, const void *data, size_t data_bytes);
