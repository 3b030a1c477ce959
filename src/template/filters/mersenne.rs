//! Python's `random.Random`: the Mersenne Twister (MT19937) seeded as CPython seeds it, so
//! that a seeded choice picks what ansible-core picks.

use sha2::{Digest, Sha512};

const N: usize = 624;
const M: usize = 397;

/// A generator in the state `random.Random(seed)` leaves it.
pub(crate) struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl PyRandom {
    /// Seeds from text as CPython's `seed(version=2)` does: the text's UTF-8 bytes
    /// followed by their SHA-512 digest, read as one big-endian integer.
    pub(crate) fn from_text(seed: &str) -> PyRandom {
        let mut bytes = seed.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(seed.as_bytes()));
        // The integer's 32-bit words, least significant first; leading zero words
        // are not part of the key, but the key has at least one word.
        let mut key: Vec<u32> = bytes
            .rchunks(4)
            .map(|chunk| chunk.iter().fold(0u32, |word, b| word << 8 | u32::from(*b)))
            .collect();
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        PyRandom::from_key(&key)
    }

    /// MT19937's `init_by_array`.
    fn from_key(key: &[u32]) -> PyRandom {
        let mut mt = [0u32; N];
        mt[0] = 19_650_218;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        PyRandom {
            state: mt,
            index: N,
        }
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.state[k] = self.state[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `_randbelow(bound)` for a bound below 2^32: `getrandbits` of the bound's bit
    /// length until the number is below it (0 for a bound of 0). `choice(seq)` is `seq[_randbelow(len(seq))]`.
    pub(crate) fn below(&mut self, bound: u32) -> u32 {
        if bound == 0 {
            return 0;
        }
        let bits = 32 - bound.leading_zeros();
        loop {
            let number = self.next_u32() >> (32 - bits);
            if number < bound {
                return number;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_choices_match_python() {
        // Python 3: r = random.Random("foo"); [r.getrandbits(32) for _ in range(3)]
        let mut random = PyRandom::from_text("foo");
        let words: Vec<u32> = (0..3).map(|_| random.next_u32()).collect();
        assert_eq!(words, [1_951_766_972, 3_091_725_106, 1_182_872_486]);
    }
}
