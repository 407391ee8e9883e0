// The Equivalence test of issue 17, for `mpirun -np R` (R divides 64):
// R ranks x batch 64/R with DistributedDataParallel and a DataLoader's
// distributed sampling see the same examples per step as 1 rank x batch 64
// (Note [Distributed sampling]), so after 20 Adam steps in float64 their
// losses (averaged over ranks) and final weights must agree within
// 1e-12 * max(1, |w|). Rank 0 trains the plain model on whole batches
// alongside and compares. The model has no dropout and no batch norm (their
// masks and statistics are per rank); the data is made here, no files.
// Exit status 0 when everything agrees; every rank prints one line.
// Run with one process it checks that DDP over a world of one changes nothing.
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>

#include <ember/autograd/functional.h>
#include <ember/data/loader.h>
#include <ember/distributed/ddp.h>
#include <ember/distributed/distributed.h>
#include <ember/nn/layers.h>
#include <ember/optim/adam.h>

using namespace ember;
namespace dist = ember::distributed;

namespace {

constexpr int64_t kGlobalBatch = 64, kSteps = 20;
constexpr double kTol = 1e-12;

std::shared_ptr<nn::Module> make_model() {
  manual_seed(1234);  // the same on every rank; DDP broadcasts rank 0's anyway
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(16, 32), std::make_shared<nn::Tanh>(),
      std::make_shared<nn::Linear>(32, 32), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(32, 4)});
  m->to(DType::Float64);
  return m;
}

// kSteps global batches of 4x4 one-channel images, labels 0..3.
std::shared_ptr<data::TensorDataset> make_data() {
  Generator gen(99);
  const int64_t n = kGlobalBatch * kSteps;
  Tensor images = randint(0, 256, {n, 1, 4, 4}, {.dtype = DType::UInt8}, &gen);
  Tensor labels = randint(0, 4, {n}, {.dtype = DType::Int64}, &gen);
  return std::make_shared<data::TensorDataset>(images, labels);
}

data::DataLoaderOptions loader_options(int64_t batch) {
  return {.batch_size = batch, .shuffle = true, .seed = 5, .normalize = data::Normalize{{0.5}, {0.25}},
          .dtype = DType::Float64, .prefetch = 0};
}

bool close(double a, double b) { return std::abs(a - b) <= kTol * std::max(1.0, std::abs(b)); }

int run() {
  dist::init();
  const int rank = dist::rank(), world = dist::world_size();
  if (kGlobalBatch % world != 0) {
    std::fprintf(stderr, "dist_equivalence: the world size %d does not divide the batch %lld\n", world,
                 static_cast<long long>(kGlobalBatch));
    return 2;
  }
  auto dataset = make_data();
  auto opt = loader_options(kGlobalBatch / world);
  opt.distributed = data::DistributedSampling{rank, world};
  data::DataLoader loader(dataset, opt);
  auto model = make_model();
  // Buckets of a few parameters each, so that several all-reduces are in
  // flight during backward and their order across the ranks matters.
  auto ddp = std::make_shared<dist::DistributedDataParallel>(model, dist::DDPOptions{.bucket_cap_mb = 1e-3});
  optim::Adam adam(ddp->parameters(), {.lr = 1e-2});

  // Rank 0's reference: one process, whole batches.
  data::DataLoader whole_loader(dataset, loader_options(kGlobalBatch));
  auto plain = make_model();
  optim::Adam plain_adam(plain->parameters(), {.lr = 1e-2});
  data::Epoch whole = whole_loader.epoch(0);

  int failures = 0;
  int64_t step = 0;
  for (data::Batch& b : loader.epoch(0)) {
    adam.zero_grad();
    Tensor loss = cross_entropy((*ddp)(b.images), b.labels);
    loss.backward();
    adam.step();
    Tensor mean_loss = loss.detach().clone();
    dist::all_reduce(mean_loss, dist::ReduceOp::Average);
    if (rank == 0) {
      data::Batch w = *whole.next();
      plain_adam.zero_grad();
      Tensor plain_loss = cross_entropy((*plain)(w.images), w.labels);
      plain_loss.backward();
      plain_adam.step();
      const double a = mean_loss.item<double>(), p = plain_loss.item<double>();
      if (!close(a, p)) {
        std::printf("step %lld: loss over %d ranks %.17g, one rank %.17g\n", static_cast<long long>(step), world, a, p);
        ++failures;
      }
    }
    ++step;
  }
  if (step != kSteps) {
    std::printf("rank %d ran %lld steps, expected %lld\n", rank, static_cast<long long>(step),
                static_cast<long long>(kSteps));
    ++failures;
  }
  // Every rank's replica equals rank 0's, and on rank 0 the plain model's.
  const auto ddp_params = model->named_parameters(), plain_params = plain->named_parameters();
  double worst = 0;
  for (size_t i = 0; i < ddp_params.size(); ++i) {
    Tensor mine = ddp_params[i].second.detach().contiguous();
    Tensor all = dist::all_gather(mine);  // [world, ...]
    const auto ours = all.to_vector<double>();
    const auto own = mine.to_vector<double>();
    for (size_t j = 0; j < ours.size(); ++j)
      if (ours[j] != own[j % own.size()]) {
        std::printf("rank %d: %s differs between ranks\n", rank, ddp_params[i].first.c_str());
        ++failures;
        break;
      }
    if (rank != 0) continue;
    const auto ref = plain_params[i].second.to_vector<double>();
    for (size_t j = 0; j < own.size(); ++j) {
      worst = std::max(worst, std::abs(own[j] - ref[j]) / std::max(1.0, std::abs(ref[j])));
      if (!close(own[j], ref[j])) {
        std::printf("%s[%zu]: %.17g with %d ranks, %.17g with one\n", ddp_params[i].first.c_str(), j, own[j], world,
                    ref[j]);
        ++failures;
        break;
      }
    }
  }
  std::printf("dist_equivalence: rank %d of %d, %lld Adam steps, %s (worst relative weight difference %.3g, "
              "last wait %.3g s)\n",
              rank, world, static_cast<long long>(step), failures ? "FAILED" : "equivalent", worst,
              ddp->last_wait_seconds());
  dist::barrier();
  dist::finalize();
  return failures ? 1 : 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dist_equivalence: %s\n", e.what());
    dist::abort(1);
  }
}
