//! A small seeded generator (SplitMix64) so that keys, credentials and injected faults repeat
//! exactly for a given seed. Not for cryptography: the sandbox only needs repeatability.

#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// True with probability `rate` (clamped to [0, 1]); a rate of 1 never consumes luck.
    pub fn chance(&mut self, rate: f64) -> bool {
        if rate >= 1.0 {
            return true;
        }
        if rate <= 0.0 {
            return false;
        }
        self.next_unit() < rate
    }

    pub fn bytes(&mut self, count: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(count + 8);
        while out.len() < count {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(count);
        out
    }

    pub fn hex(&mut self, byte_count: usize) -> String {
        self.bytes(byte_count).iter().map(|byte| format!("{byte:02x}")).collect()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let bound = u64::try_from(index + 1).unwrap_or(u64::MAX);
            let other = usize::try_from(self.next_u64() % bound).unwrap_or(0);
            items.swap(index, other);
        }
    }
}
