// ember-mnist: train and evaluate CNNs on MNIST digits, Fashion-MNIST and CIFAR.
//
//   ember-mnist train [options]     train, writing runs/<...>/ (metrics.csv,
//                                   config.json, checkpoint and model files,
//                                   charts and report.html)
//   ember-mnist eval FILE [options] evaluate a checkpoint or model file
//
// Prepare the data first: bash scripts/prepare_data.sh
#include <cstdio>

#include <ember/core/backend.h>
#include <ember/core/error.h>
#include <ember/distributed/distributed.h>
#include <ember/kernels/register.h>

#include "cli.h"
#include "models.h"
#include "trainer.h"

namespace {

// "cpu: ember, eigen; cuda: ember": the implementations this build registers.
std::string kernel_choices() {
  using ember::DeviceType;
  auto names = [](DeviceType t) {
    std::string s;
    for (const std::string& n : ember::registered_backends(t)) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  try {
    std::string s = "cpu: " + names(DeviceType::CPU);
    if (ember::kernels::built_with_cuda()) s += "; cuda: " + names(DeviceType::CUDA);
    return s;
  } catch (const ember::Error&) {  // a bad EMBER_BACKEND: reported when training starts
    return "see ember::registered_backends";
  }
}

}  // namespace

int main(int argc, char** argv) {
  ember::mnist::CommandLine cli({kernel_choices(), ember::mnist::model_names()});
  ember::mnist::Command cmd;
  try {
    cmd = cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // what CLI11_PARSE does: help or a usage error, CLI11's exit code
    return cli.exit(e);
  }
  // An error on one rank of a --distributed run ends every rank: the others
  // would wait for it at their next collective (Note [Collective timeouts]).
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "error: %s\n", what);
    if (cmd.train && cmd.config.distributed && ember::distributed::is_distributed()) {
      std::fprintf(stderr, "rank %d: ending every rank of the job\n", ember::distributed::rank());
      ember::distributed::abort(1);
    }
    return 1;
  };
  try {
    if (cmd.train) return ember::mnist::train(cmd.config).exit_code();  // 130 or 143 after a stop signal
    ember::mnist::evaluate_file(cmd.file, cmd.config, cmd.eval);
  } catch (const ember::Error& e) {
    return fail(e.what());
  } catch (const std::exception& e) {  // a library's own error (std::filesystem, bad_alloc): still a message
    return fail(e.what());
  }
  return 0;
}
