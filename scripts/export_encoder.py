#!/usr/bin/env python3
"""Exports a pre-trained encoder for `opspilot text train --encoder enc.pt --vocab vocab.txt`.

OpsPilot's contract for a TorchScript encoder: int64 token ids [N, L] in, one
float vector per text [N, dim] out, id 0 padding. This script wraps a BERT-class
model so that it keeps that contract: the attention mask is `ids != 0` and the
output is the masked mean of the last hidden layer (sentence-transformers'
pooling, which also serves FAQ retrieval). The model's vocab.txt is written
beside it; OpsPilot's WordPiece tokenizer (src/nlp/wordpiece.h) gives the ids
BERT's own tokenizer gives.

  # a Hugging Face checkpoint (needs torch and transformers, e.g. pip):
  scripts/export_encoder.py --hf bert-base-chinese --out enc/
  scripts/export_encoder.py --hf hfl/rbt3 --out enc/        # 3 layers: CPU-friendly
  # a small random BERT-like encoder over a corpus' characters (needs torch
  # only: Debian's python3-torch), to check the pipeline end to end:
  scripts/export_encoder.py --tiny --corpus train.csv --out enc/

  opspilot text train --data train.csv --model transformer \\
      --encoder enc/encoder.pt --vocab enc/vocab.txt [--finetune-encoder] --out model/
"""
import argparse
import csv
import os
import sys
import unicodedata

import torch


class MeanPooled(torch.nn.Module):
    """A Hugging Face encoder (loaded with torchscript=True) -> masked mean."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        mask = (tokens != 0).long()
        hidden = self.model(input_ids=tokens, attention_mask=mask)[0]
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class TinyEncoder(torch.nn.Module):
    """Embeddings + positions + a 2-layer Transformer encoder -> masked mean."""

    def __init__(self, vocab, dim=64, layers=2, heads=4, max_len=512):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, dim, padding_idx=0)
        self.pos = torch.nn.Embedding(max_len, dim)
        layer = torch.nn.TransformerEncoderLayer(dim, heads, 2 * dim, 0.1, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, tokens):
        positions = torch.arange(tokens.size(1), device=tokens.device).unsqueeze(0)
        pad = tokens == 0
        hidden = self.enc(self.tok(tokens) + self.pos(positions), src_key_padding_mask=pad)
        m = (~pad).unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def corpus_texts(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if rows and "text" in rows[0]:
        k = rows[0].index("text")
        return [r[k] for r in rows[1:] if len(r) > k]
    return [r[0] for r in rows if r]


def tiny_vocab(texts):
    """[PAD] [UNK] [CLS] [SEP] [MASK], then every character (lower case, no
    accents) and its ## continuation: WordPiece splits words into characters."""
    chars = set()
    for t in texts:
        for c in unicodedata.normalize("NFD", t.lower()):
            if unicodedata.category(c) != "Mn" and not c.isspace():
                chars.add(c)
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for c in sorted(chars):
        pieces += [c, "##" + c]
    return pieces


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf", help="a Hugging Face model name or directory (BERT-class, with a vocab.txt)")
    src.add_argument("--tiny", action="store_true", help="a small random encoder over --corpus's characters")
    ap.add_argument("--corpus", help="--tiny: a CSV with a text column, or one text per line")
    ap.add_argument("--out", required=True, help="directory for encoder.pt and vocab.txt")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    if a.tiny:
        if not a.corpus:
            sys.exit("--tiny needs --corpus")
        pieces = tiny_vocab(corpus_texts(a.corpus))
        with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(pieces) + "\n")
        module = torch.jit.script(TinyEncoder(len(pieces)).eval())
    else:
        from transformers import AutoModel, AutoTokenizer  # not in Debian 12: pip

        tok = AutoTokenizer.from_pretrained(a.hf)
        if tok.pad_token_id != 0:
            sys.exit(f"{a.hf}: its [PAD] id is {tok.pad_token_id}; OpsPilot pads with 0")
        tok.save_vocabulary(a.out)  # vocab.txt
        model = AutoModel.from_pretrained(a.hf, torchscript=True).eval()
        example = torch.tensor([[tok.cls_token_id] + [tok.unk_token_id] * 14 + [tok.sep_token_id]] * 2)
        module = torch.jit.trace(MeanPooled(model), example)
    module.save(os.path.join(a.out, "encoder.pt"))
    print(f"wrote {a.out}/encoder.pt and {a.out}/vocab.txt")


if __name__ == "__main__":
    main()
