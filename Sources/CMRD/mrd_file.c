#include "CMRD.h"
#include <ismrmrd/dataset.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(ISMRMRD_AcquisitionHeader) == 340, "ISMRMRD acquisition header must be the packed 340 bytes");
_Static_assert(sizeof(ISMRMRD_ImageHeader) == 198, "ISMRMRD image header must be the packed 198 bytes");

struct lpnd_mrd_file {
    ISMRMRD_Dataset dataset;
    char *header;
    ISMRMRD_Acquisition acquisition;
};

static lpnd_mrd_file *open_file(const char *path, const char *group, bool create) {
    lpnd_mrd_file *file = calloc(1, sizeof *file);
    if (!file) return NULL;
    if (ismrmrd_init_dataset(&file->dataset, path, group) != ISMRMRD_NOERROR) {
        free(file);
        return NULL;
    }
    if (ismrmrd_open_dataset(&file->dataset, create) != ISMRMRD_NOERROR) {
        ismrmrd_close_dataset(&file->dataset);  // frees the names init_dataset copied
        free(file);
        return NULL;
    }
    file->header = create ? NULL : ismrmrd_read_header(&file->dataset);
    ismrmrd_init_acquisition(&file->acquisition);
    return file;
}

lpnd_mrd_file *lpnd_mrd_open(const char *path, const char *group) { return open_file(path, group, false); }

lpnd_mrd_file *lpnd_mrd_create(const char *path, const char *group) { return open_file(path, group, true); }

int lpnd_mrd_append_image(lpnd_mrd_file *file, const char *varname, const uint8_t header[198],
                          const char *attributes, size_t attributes_length, const void *data, size_t data_bytes) {
    if (attributes_length > UINT32_MAX) return -1;
    ISMRMRD_Image image;
    if (ismrmrd_init_image(&image) != ISMRMRD_NOERROR) return -1;
    memcpy(&image.head, header, 198);
    image.head.attribute_string_len = (uint32_t)attributes_length;
    int status = -1;
    if (ismrmrd_make_consistent_image(&image) == ISMRMRD_NOERROR && ismrmrd_size_of_image_data(&image) == data_bytes) {
        if (attributes_length > 0) memcpy(image.attribute_string, attributes, attributes_length);
        memcpy(image.data, data, data_bytes);
        status = ismrmrd_append_image(&file->dataset, varname, &image) == ISMRMRD_NOERROR ? 0 : -1;
    }
    ismrmrd_cleanup_image(&image);
    return status;
}

void lpnd_mrd_close(lpnd_mrd_file *file) {
    if (!file) return;
    ismrmrd_cleanup_acquisition(&file->acquisition);
    free(file->header);
    ismrmrd_close_dataset(&file->dataset);
    free(file);
}

const char *lpnd_mrd_header(lpnd_mrd_file *file) { return file->header; }

uint32_t lpnd_mrd_count(lpnd_mrd_file *file) { return ismrmrd_get_number_of_acquisitions(&file->dataset); }

int lpnd_mrd_read(lpnd_mrd_file *file, uint32_t index, uint8_t header[340],
                  const float **trajectory, size_t *trajectory_floats,
                  const float **data, size_t *data_floats) {
    ISMRMRD_Acquisition *a = &file->acquisition;
    if (ismrmrd_read_acquisition(&file->dataset, index, a) != ISMRMRD_NOERROR) return -1;
    memcpy(header, &a->head, 340);
    *trajectory = a->traj;
    *trajectory_floats = ismrmrd_size_of_acquisition_traj(a) / sizeof(float);
    *data = (const float *)a->data;
    *data_floats = ismrmrd_size_of_acquisition_data(a) / sizeof(float);
    return 0;
}
