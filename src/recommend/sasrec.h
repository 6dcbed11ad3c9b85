// The libtorch recommenders. Torch-free header: the models live in sasrec.cc
// and mlp_ranker.cc.
//
// "sasrec": SASRec (Kang & McAuley 2018), causal self-attention over the
// user's latest `max_len` items with learned positions; the item embedding is
// shared between input and output, so a user's state (the last position's
// output) dotted with every item embedding gives the scores. Trained with full
// softmax cross-entropy over the catalog (loss "ce", the default: Klenitskiy &
// Vasilev 2023 show it beats the paper's loss) or the paper's binary
// cross-entropy against one sampled negative per position ("bce").
// Params (MakeModel json, defaults): max_len 50, dim 64, layers 2, heads 1,
// dropout 0.2, epochs 30, batch 128, lr 1e-3, loss "ce", negatives 0 (ce
// over the whole catalog; N > 0: the target against N items sampled
// uniformly per batch, for catalogs where the full softmax is too slow: its
// cost per epoch is positions x items x dim), patience 5 (early stopping on
// the held-out last item of 10% of the users, best epoch kept; 0 = off),
// windows 1 (training windows of max_len items per user, newest first). The
// seed, threads and training device come from the Context; scoring runs on
// the CPU. Score, Explain and UserEmbedding are const and thread-safe.
//
// "mlp" (mlp_ranker.cc): the propensity-to-buy ranker of a classic shop, an
// MLP giving the logit that the user takes the item next. User side: the
// recency-weighted mean of the learned embeddings of the latest `recent`
// items (weight = event weight x 0.5^(age / half_life), age in items), the
// same window's weighted distributions over the catalog's categories and
// price buckets, and log history length. Item side: learned embedding,
// category embedding, price-bucket embedding (quantiles of the finite
// catalog prices; bucket 0 = no price) and log training popularity. Pair:
// the elementwise product of the two embeddings and the user's share of the
// item's category and of its price bucket. Trained with binary
// cross-entropy: each of a user's latest `targets` items against the window
// before it, with `negatives` sampled items the user does not have
// (uniform or popularity^0.75), Adam, early stopping on the held-out latest
// items (up to 5) of 10% of users (NDCG@10 over the whole catalog, seen
// items not ranked; best epoch kept). Item embeddings start from a
// truncated SVD of the interactions (init "svd"; "random": N(0, 0.1), which
// can stall on a plateau when there is no catalog). The categories and
// prices are those of the Catalog given to Fit (the 1000 most frequent
// categories; others count as none) and are stored with the weights, so
// items without interactions are still placed by them. Scoring folds the
// user into the first layer and runs the rest over all items at once
// (about 1 ms for 5000 items on one core); an empty history gets log
// popularity. Explain gives the history item most similar to the item
// (cosine of the learned embeddings, kind "also_liked"), or, when the item
// is in the user's top category and removing the category taste lowers its
// logit more than removing that item, kind "popular_in_category" (because
// -1); an empty history gets "popular".
// Params (defaults): recent 50, half_life 25, dim 32, hidden [128, 32],
// dropout 0.2, epochs 30, batch 256 (targets per step), lr 1e-3, l2 0,
// targets 20, negatives 4, sampling "uniform" | "popularity", patience 5,
// price_buckets 10 (0 = prices unused), init "svd". Files: mlp_params.json,
// mlp_weights.pt. Score and Explain are const and thread-safe.
#ifndef OPSPILOT_RECOMMEND_SASREC_H_
#define OPSPILOT_RECOMMEND_SASREC_H_

namespace opspilot::recommend {

// Registers "sasrec" and "mlp" with RegisterModel. Call once at start-up,
// before MakeModel is asked for them; calling it again re-registers the same
// factories.
void RegisterTorchModels();

// Registers "mlp" alone (RegisterTorchModels calls it).
void RegisterMlpRanker();

}  // namespace opspilot::recommend

#endif  // OPSPILOT_RECOMMEND_SASREC_H_
