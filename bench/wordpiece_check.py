#!/usr/bin/env python3
"""Checks OpsPilot's WordPiece tokenizer (src/nlp/wordpiece.cc, ICU) against a second
implementation of BERT's algorithm written here with Python's unicodedata, on every text of
the given files plus a few hard strings (accents, full width, final sigma, hangul, control and
format characters).

  bench/wordpiece_check.py BUILD FILE.csv [FILE.csv ...]    # CSVs with a text column

A vocabulary is built from the texts (3,000 frequent words, every character and its ##
continuation less a random 5% so that [UNK] occurs, 800 frequent ## suffixes), both tokenize
every text, and the pieces must be identical. Prints the count of texts that differ (0 to pass)
and exits non-zero when any does.
"""
import csv, sys, unicodedata, collections, random, subprocess, os, tempfile
def is_ws(c): return c in ' \t\n\r' or unicodedata.category(c)=='Zs'
def is_ctrl(c):
    if c in '\t\n\r': return False
    return unicodedata.category(c).startswith('C')
def is_punct(c):
    o=ord(c)
    if 33<=o<=47 or 58<=o<=64 or 91<=o<=96 or 123<=o<=126: return True
    return unicodedata.category(c).startswith('P')
def is_cjk(o):
    return (0x4E00<=o<=0x9FFF or 0x3400<=o<=0x4DBF or 0x20000<=o<=0x2A6DF or 0x2A700<=o<=0x2B73F or
            0x2B740<=o<=0x2B81F or 0x2B820<=o<=0x2CEAF or 0xF900<=o<=0xFAFF or 0x2F800<=o<=0x2FA1F)
def split(text, lower=True):
    text=unicodedata.normalize('NFC',text)
    out=[]; cur=''
    words=[]
    for c in text:
        if ord(c)==0 or ord(c)==0xFFFD or is_ctrl(c): continue
        if is_ws(c):
            if cur: words.append(cur); cur=''
        elif is_cjk(ord(c)):
            if cur: words.append(cur); cur=''
            words.append(c)
        else: cur+=c
    if cur: words.append(cur)
    for w in words:
        if lower:
            w=w.lower(); w=''.join(c for c in unicodedata.normalize('NFD',w) if unicodedata.category(c)!='Mn')
        part=''
        for c in w:
            if is_punct(c):
                if part: out.append(part); part=''
                out.append(c)
            else: part+=c
        if part: out.append(part)
    return out
def pieces(word, vocab):
    if len(word)>100: return ['[UNK]']
    res=[]; s=0
    while s<len(word):
        e=len(word); found=None
        while e>s:
            k=('##' if s>0 else '')+word[s:e]
            if k in vocab: found=k; break
            e-=1
        if found is None: return ['[UNK]']
        res.append(found); s=e
    return res
build, files = sys.argv[1], sys.argv[2:]
texts=[]
for f in files:
    texts+= [r['text'] for r in csv.DictReader(open(f, newline='', encoding='utf-8'))]
texts+=["Héllo CAFÉ naïve Ｆｕｌｌｗｉｄｔｈ！", "a\u200bb\u00adc d\u3000e", "emoji 😀👍 ok", "İstanbul ΣΊΣΥΦΟΣ", "don't e-mail me@x.com 12,345.67", "カタカナ와 한국어 テスト"]
# vocab: specials, frequent words, every char and ##char, frequent ## suffixes of 2-3 chars
random.seed(0)
wc=collections.Counter(w for t in texts for w in split(t))
vocab=['[PAD]','[UNK]','[CLS]','[SEP]','[MASK]','<S>','<T>']
chars=sorted({c for w in wc for c in w})
vocab+= [w for w,n in wc.most_common(3000) if len(w)>1]
drop=set(random.sample(chars, len(chars)//20))   # some characters uncovered -> [UNK]
vocab+= [c for c in chars if c not in drop] + ['##'+c for c in chars if c not in drop]
suf=collections.Counter(w[i:i+k] for w in wc for k in (2,3) for i in range(1,len(w)-k+1) if w.isascii())
vocab+= ['##'+s for s,n in suf.most_common(800)]
seen=set(); V=[]
for v in vocab:
    if v not in seen and '\n' not in v: seen.add(v); V.append(v)
texts=[t for t in texts if t.strip()]  # the CLI skips blank texts
vs=set(V)
work=tempfile.mkdtemp()
with open(os.path.join(work,'vocab.txt'),'w',encoding='utf-8') as f: f.write('\n'.join(V)+'\n')
with open(os.path.join(work,'texts.csv'),'w',newline='',encoding='utf-8') as f:
    w=csv.writer(f); w.writerow(['id','text']); [w.writerow([k,t]) for k,t in enumerate(texts)]
out=subprocess.run([os.path.join(build,'opspilot'),'text','tokenize','--vocab',os.path.join(work,'vocab.txt'),
                    '--input',os.path.join(work,'texts.csv')],check=True,capture_output=True,text=True).stdout.split('\n')
bad=0; n_pieces=0; n_unk=0
for k,t in enumerate(texts):
    ref=[]
    for word in split(t): ref+=pieces(word,vs)
    n_pieces+=len(ref); n_unk+=ref.count('[UNK]')
    if ' '.join(ref)!=out[k]:
        bad+=1
        if bad<=5: print('differs:',repr(t[:80]),'\n  ours:',out[k][:200],'\n  ref: ',' '.join(ref)[:200])
print(f'{len(texts)} texts, {len(V)} pieces in the vocabulary, {n_pieces} pieces ({n_unk} [UNK]): {bad} differ')
sys.exit(1 if bad else 0)
