/* Example plugin in C against include/harness_localizer.h: map = luma / 255 with
 * luma = 0.299 R + 0.587 G + 0.114 B, no score. Build:
 *   cc -shared -fPIC -O2 -I localizer-sdk/include examples/plugins/c/brightness.c -o libbrightness.so
 * The TEST_* macros let the tests build deliberately incompatible variants. */
#include "harness_localizer.h"

#ifndef TEST_ABI_VERSION
#define TEST_ABI_VERSION HARNESS_ABI_VERSION
#endif
#ifndef TEST_STRUCT_SIZE
#define TEST_STRUCT_SIZE sizeof(HarnessLocalizerV1)
#endif

static const char *last_message = 0;
static int instance_token = 0;

static int32_t create(const char *params_json, void **instance) {
  (void)params_json; /* takes no parameters */
  *instance = &instance_token;
  return HARNESS_OK;
}

static int32_t localize(void *instance, const HarnessImage *images, HarnessOutput *outputs, size_t count) {
  if (instance != &instance_token) {
    last_message = "localize called with a foreign instance";
    return HARNESS_ERROR;
  }
  for (size_t i = 0; i < count; i++) {
    size_t pixels = (size_t)images[i].width * images[i].height;
    const uint8_t *rgb = images[i].rgb;
    for (size_t p = 0; p < pixels; p++) {
      float luma = 0.299f * rgb[3 * p] + 0.587f * rgb[3 * p + 1] + 0.114f * rgb[3 * p + 2];
      outputs[i].map[p] = luma / 255.0f;
    }
  }
  return HARNESS_OK;
}

static const char *last_error(void) { return last_message; }

static void destroy(void *instance) { (void)instance; }

static const HarnessLocalizerV1 table = {
    TEST_ABI_VERSION, TEST_STRUCT_SIZE, "brightness", 0, 0, 8, create, localize, last_error, destroy,
};

const HarnessLocalizerV1 *harness_localizer_entry_v1(void) { return &table; }
