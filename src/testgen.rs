//! Deterministic input generation for the property tests: the same cases on every run,
//! no dependency. (The fuzz targets in `fuzz/` explore further, guided by coverage.)

pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// `input` with a few bytes flipped, dropped or inserted.
    pub fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..=self.below(4) {
            let at = self.below(out.len());
            let byte = self.next() as u8;
            let insert = b"\"{}[],:.0\\"[self.below(10)];
            match self.below(3) {
                0 if !out.is_empty() => out[at] = byte,
                1 if !out.is_empty() => {
                    out.remove(at);
                }
                _ => out.insert(at.min(out.len()), insert),
            }
        }
        out
    }
}
