"""Trains a byte-level BPE with Hugging Face `tokenizers`' BpeTrainer, as ptm's train_byte_bpe
does (GPT-2 pre-tokenization, full byte alphabet, special tokens first), for the parity test.

    python tests/golden/tokenizer_train_reference.py TEXT_FILE VOCAB_SIZE MIN_FREQUENCY OUT_JSON [SPECIAL...]

Each '\\n'-separated line of TEXT_FILE, with its '\\n', is one training text.
"""
import sys

from tokenizers import Tokenizer, models, pre_tokenizers, trainers


def main():
    text_file, vocab_size, min_frequency, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    specials = sys.argv[5:]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    with open(text_file, "rb") as f:
        lines = [line.decode("utf-8") + "\n" for line in f.read().split(b"\n")]
    tok.train_from_iterator(lines, trainer)
    tok.save(out)


if __name__ == "__main__":
    main()
