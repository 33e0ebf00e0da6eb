#include "CMRD.h"
#include <ismrmrd/dataset.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(ISMRMRD_AcquisitionHeader) == 340, "ISMRMRD acquisition header must be the packed 340 bytes");

struct lpnd_mrd_file {
    ISMRMRD_Dataset dataset;
    char *header;
    ISMRMRD_Acquisition acquisition;
};

lpnd_mrd_file *lpnd_mrd_open(const char *path, const char *group) {
    lpnd_mrd_file *file = calloc(1, sizeof *file);
    if (!file) return NULL;
    if (ismrmrd_init_dataset(&file->dataset, path, group) != ISMRMRD_NOERROR ||
        ismrmrd_open_dataset(&file->dataset, false) != ISMRMRD_NOERROR) {
        free(file);
        return NULL;
    }
    file->header = ismrmrd_read_header(&file->dataset);
    ismrmrd_init_acquisition(&file->acquisition);
    return file;
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
