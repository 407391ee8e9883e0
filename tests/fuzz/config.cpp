// Fuzz target: ember-mnist's run config as JSON, as config.json and a
// checkpoint's "config" metadata hold it (Config::from_json_text). A config
// that loads must survive to_json and back unchanged (else abort).
// Seeds: corpus/config/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <ember/core/error.h>

#include "trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ember::mnist::Config;
  Config c;
  try {
    c = Config::from_json_text({reinterpret_cast<const char*>(data), size}, "config.json");
  } catch (const ember::Error&) {
    return 0;
  }
  const nlohmann::json saved = c.to_json();
  if (Config::from_json_text(saved.dump(), "round trip").to_json() != saved) {
    std::fprintf(stderr, "config: to_json and back changed the config\n");
    std::abort();
  }
  return 0;
}
