//! States in colour for a terminal: green what finished well, red what
//! failed, yellow what was undone or stopped and waits for an operator, cyan
//! what is under way. The state word is always printed, so a summary reads
//! the same without colour (`NO_COLOR`, a pipe, a file).

/// `cell` (the state word, maybe padded) in the colour of `state`, an order's
/// or a task's state name; `cell` unchanged without `color`.
pub fn paint_state(state: &str, cell: &str, color: bool) -> String {
    let code = match state {
        "done" | "completed" => "32",
        "failed" => "31",
        "held" | "compensated" | "cancelled" => "33",
        "running" | "in_progress" => "36",
        "skipped" => "2",
        _ => return cell.to_string(),
    };
    if !color {
        return cell.to_string();
    }
    // Colour the word only, not the padding after it, so columns stay aligned.
    let word = cell.trim_end();
    format!("\x1b[{code}m{word}\x1b[0m{}", &cell[word.len()..])
}

#[cfg(test)]
mod tests {
    use super::paint_state;

    #[test]
    fn the_word_is_always_there_and_the_padding_is_kept() {
        assert_eq!(paint_state("failed", "failed  ", false), "failed  ");
        assert_eq!(
            paint_state("failed", "failed  ", true),
            "\x1b[31mfailed\x1b[0m  "
        );
        assert_eq!(paint_state("pending", "pending", true), "pending");
    }
}
