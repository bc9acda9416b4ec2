//! The partner bank's side of the card face (R-ID-2).

/// A 19-digit bank card number (the partner bank's BIN `621700`, the card sequence, a Luhn
/// check digit) for the card face (R-ID-2).
pub fn card_no(seq: u64) -> String {
    let body = format!("621700{seq:012}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bank_card_numbers_pass_luhn() {
        let n = super::card_no(42);
        assert_eq!(n.len(), 19);
        let sum: u32 = n
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
                } else {
                    d
                }
            })
            .sum();
        assert_eq!(sum % 10, 0, "{n}");
    }
}
