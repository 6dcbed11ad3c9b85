#include "recommend/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace opspilot::recommend {

SyntheticData GenerateTaste(const SyntheticOptions& o) {
  std::mt19937_64 rng(o.seed);
  SyntheticData s;
  const auto ni = static_cast<size_t>(o.items);
  // Items: genre round-robin over a shuffled order, popularity by a global Zipf rank.
  std::vector<int32_t> order(ni);
  for (size_t i = 0; i < ni; ++i) order[i] = static_cast<int32_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  s.item_genre.assign(ni, 0);
  std::vector<double> weight(ni);
  std::vector<std::vector<int32_t>> genre_items(static_cast<size_t>(o.genres));
  for (size_t r = 0; r < ni; ++r) {
    const int32_t i = order[r];
    const int g = static_cast<int>(r % static_cast<size_t>(o.genres));
    s.item_genre[static_cast<size_t>(i)] = g;
    weight[static_cast<size_t>(i)] = 1.0 / std::pow(static_cast<double>(r) + 1.0, o.zipf);
    genre_items[static_cast<size_t>(g)].push_back(i);
  }
  std::discrete_distribution<int32_t> global(weight.begin(), weight.end());
  std::vector<std::discrete_distribution<int32_t>> in_genre;
  for (auto& items : genre_items) {
    std::vector<double> w;
    for (int32_t i : items) w.push_back(weight[static_cast<size_t>(i)]);
    in_genre.emplace_back(w.begin(), w.end());
  }
  std::shared_ptr<Dictionary> items = std::make_shared<Dictionary>();
  std::shared_ptr<Dictionary> users = std::make_shared<Dictionary>();
  for (size_t i = 0; i < ni; ++i) items->Intern("i" + std::to_string(i));
  InteractionsBuilder ib(users, items);
  std::lognormal_distribution<double> count(std::log(o.mean_items_per_user) - 0.18, 0.6);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int> any_genre(0, o.genres - 1);
  s.user_genres.resize(static_cast<size_t>(o.users));
  for (int32_t u = 0; u < o.users; ++u) {
    const int32_t code = users->Intern("u" + std::to_string(u));
    auto& gs = s.user_genres[static_cast<size_t>(code)];
    gs.push_back(any_genre(rng));
    if (unit(rng) < 0.5) {
      int g2 = any_genre(rng);
      if (g2 != gs[0]) gs.push_back(g2);
    }
    const int n = std::clamp(static_cast<int>(count(rng)), 5, o.items / 2);
    std::vector<uint8_t> seen(ni, 0);
    int64_t t = o.start_time + static_cast<int64_t>(unit(rng) * 86400 * 30);
    int made = 0, tries = 0;
    while (made < n && tries++ < 20 * n) {
      int32_t i;
      if (unit(rng) < o.taste_share) {
        const int g = gs[static_cast<size_t>(rng() % gs.size())];
        i = genre_items[static_cast<size_t>(g)][static_cast<size_t>(in_genre[static_cast<size_t>(g)](rng))];
      } else {
        i = global(rng);
      }
      if (seen[static_cast<size_t>(i)]) continue;
      seen[static_cast<size_t>(i)] = 1;
      ib.Add(code, i, 1.f, t);
      t += 3600;
      ++made;
    }
  }
  s.data = ib.Finish();
  s.catalog.Resize(static_cast<int32_t>(ni));
  for (size_t i = 0; i < ni; ++i) {
    const std::string g = "genre" + std::to_string(s.item_genre[i]);
    s.catalog.category[i] = g;
    s.catalog.title[i] = "Item " + std::to_string(i) + " " + g;
  }
  return s;
}

}  // namespace opspilot::recommend
