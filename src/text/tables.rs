//! The character tables of TS 23.038: the GSM 7-bit default alphabet, its extension table,
//! and the national language shift tables of Annex A that smsbridge supports (Turkish,
//! Spanish, Portuguese). Index = septet value.

/// Marks a septet that has no character in a single shift table.
pub(crate) const ABSENT: char = '\u{FFFF}';
/// Marks a Latin-1 code point with no septet in a table.
const NO_SEPTET: u8 = 0xFF;
/// The escape septet that selects the single shift (extension) table.
pub(crate) const ESC: u8 = 0x1B;

/// A locking shift table: the character of each septet 0x00–0x7F (0x1B is the escape).
pub(crate) struct LockingTable {
    chars: [char; 128],
    /// Septet of each character below U+0100 (the common case), `NO_SEPTET` if none.
    low: [u8; 256],
}

impl LockingTable {
    const fn new(chars: [char; 128]) -> Self {
        let mut low = [NO_SEPTET; 256];
        let mut i = 0;
        while i < 128 {
            let c = chars[i] as u32;
            if i != ESC as usize && c < 256 {
                low[c as usize] = i as u8;
            }
            i += 1;
        }
        LockingTable { chars, low }
    }

    /// The septet of `c` in this table.
    #[inline]
    pub(crate) fn septet(&self, c: char) -> Option<u8> {
        let v = c as u32;
        if v < 256 {
            let s = self.low[v as usize];
            (s != NO_SEPTET).then_some(s)
        } else {
            self.chars.iter().position(|&t| t == c).map(|i| i as u8)
        }
    }

    /// The character of a septet (the escape septet maps to U+001B).
    #[inline]
    pub(crate) fn char(&self, septet: u8) -> char {
        self.chars[usize::from(septet & 0x7F)]
    }
}

/// A single shift table: the character reached by ESC followed by each septet.
pub(crate) struct SingleShiftTable {
    chars: [char; 128],
    low: [u8; 256],
}

impl SingleShiftTable {
    const fn new(entries: &[(u8, char)]) -> Self {
        let mut chars = [ABSENT; 128];
        let mut low = [NO_SEPTET; 256];
        let mut i = 0;
        while i < entries.len() {
            let (septet, c) = entries[i];
            chars[septet as usize] = c;
            if (c as u32) < 256 {
                low[c as usize] = septet;
            }
            i += 1;
        }
        SingleShiftTable { chars, low }
    }

    /// The septet that follows ESC for `c` in this table.
    #[inline]
    pub(crate) fn septet(&self, c: char) -> Option<u8> {
        let v = c as u32;
        if v < 256 {
            let s = self.low[v as usize];
            (s != NO_SEPTET).then_some(s)
        } else {
            self.chars.iter().position(|&t| t == c).map(|i| i as u8)
        }
    }

    /// The character of ESC + `septet`, if the table has one.
    #[inline]
    pub(crate) fn char(&self, septet: u8) -> Option<char> {
        let c = self.chars[usize::from(septet & 0x7F)];
        (c != ABSENT).then_some(c)
    }
}

/// The GSM 7-bit default alphabet (TS 23.038 §6.2.1).
pub(crate) const DEFAULT_LOCKING: LockingTable = LockingTable::new([
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', // 0x00
    'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', // 0x08
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', // 0x10
    'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', // 0x18
    ' ', '!', '"', '#', '¤', '%', '&', '\'', // 0x20
    '(', ')', '*', '+', ',', '-', '.', '/', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '<', '=', '>', '?', // 0x38
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', // 0x58
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', // 0x78
]);

/// The default alphabet extension table (TS 23.038 §6.2.1.1): characters after ESC.
pub(crate) const DEFAULT_EXTENSION: SingleShiftTable = SingleShiftTable::new(&[
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
]);

/// Turkish national language locking shift table (TS 23.038 A.3.1, NLI 1).
pub(crate) const TURKISH_LOCKING: LockingTable = LockingTable::new([
    '@', '£', '$', '¥', '€', 'é', 'ù', 'ı', // 0x00
    'ò', 'Ç', '\n', 'Ğ', 'ğ', '\r', 'Å', 'å', // 0x08
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', // 0x10
    'Σ', 'Θ', 'Ξ', '\u{1B}', 'Ş', 'ş', 'ß', 'É', // 0x18
    ' ', '!', '"', '#', '¤', '%', '&', '\'', // 0x20
    '(', ')', '*', '+', ',', '-', '.', '/', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '<', '=', '>', '?', // 0x38
    'İ', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', // 0x58
    'ç', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', // 0x78
]);

/// Turkish national language single shift table (TS 23.038 A.2.1, NLI 1).
pub(crate) const TURKISH_SINGLE: SingleShiftTable = SingleShiftTable::new(&[
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x47, 'Ğ'),
    (0x49, 'İ'),
    (0x53, 'Ş'),
    (0x63, 'ç'),
    (0x65, '€'),
    (0x67, 'ğ'),
    (0x69, 'ı'),
    (0x73, 'ş'),
]);

/// Spanish national language single shift table (TS 23.038 A.2.2, NLI 2); Spanish has no locking shift table.
pub(crate) const SPANISH_SINGLE: SingleShiftTable = SingleShiftTable::new(&[
    (0x09, 'ç'),
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x41, 'Á'),
    (0x49, 'Í'),
    (0x4F, 'Ó'),
    (0x55, 'Ú'),
    (0x61, 'á'),
    (0x65, '€'),
    (0x69, 'í'),
    (0x6F, 'ó'),
    (0x75, 'ú'),
]);

/// Portuguese national language locking shift table (TS 23.038 A.3.3, NLI 3).
pub(crate) const PORTUGUESE_LOCKING: LockingTable = LockingTable::new([
    '@', '£', '$', '¥', 'ê', 'é', 'ú', 'í', // 0x00
    'ó', 'ç', '\n', 'Ô', 'ô', '\r', 'Á', 'á', // 0x08
    'Δ', '_', 'ª', 'Ç', 'À', '∞', '^', '\\', // 0x10
    '€', 'Ó', '|', '\u{1B}', 'Â', 'â', 'Ê', 'É', // 0x18
    ' ', '!', '"', '#', 'º', '%', '&', '\'', // 0x20
    '(', ')', '*', '+', ',', '-', '.', '/', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '<', '=', '>', '?', // 0x38
    'Í', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', 'Ã', 'Õ', 'Ú', 'Ü', '§', // 0x58
    '~', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', 'ã', 'õ', '`', 'ü', 'à', // 0x78
]);

/// Portuguese national language single shift table (TS 23.038 A.2.3, NLI 3).
pub(crate) const PORTUGUESE_SINGLE: SingleShiftTable = SingleShiftTable::new(&[
    (0x05, 'ê'),
    (0x09, 'ç'),
    (0x0A, '\u{0C}'),
    (0x0B, 'Ô'),
    (0x0C, 'ô'),
    (0x0E, 'Á'),
    (0x0F, 'á'),
    (0x12, 'Φ'),
    (0x13, 'Γ'),
    (0x14, '^'),
    (0x15, 'Ω'),
    (0x16, 'Π'),
    (0x17, 'Ψ'),
    (0x18, 'Σ'),
    (0x19, 'Θ'),
    (0x1F, 'Ê'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x41, 'À'),
    (0x49, 'Í'),
    (0x4F, 'Ó'),
    (0x55, 'Ú'),
    (0x5B, 'Ã'),
    (0x5C, 'Õ'),
    (0x61, 'Â'),
    (0x65, '€'),
    (0x69, 'í'),
    (0x6F, 'ó'),
    (0x75, 'ú'),
    (0x7B, 'ã'),
    (0x7C, 'õ'),
    (0x7F, 'â'),
]);
