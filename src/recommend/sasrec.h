// The libtorch recommenders. Torch-free header: the models live in sasrec.cc.
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
#ifndef OPSPILOT_RECOMMEND_SASREC_H_
#define OPSPILOT_RECOMMEND_SASREC_H_

namespace opspilot::recommend {

// Registers "sasrec" with RegisterModel. Call once at start-up, before
// MakeModel is asked for it; calling it again re-registers the same factory.
void RegisterTorchModels();

}  // namespace opspilot::recommend

#endif  // OPSPILOT_RECOMMEND_SASREC_H_
