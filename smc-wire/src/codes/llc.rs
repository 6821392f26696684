//! LLC message types and DELETE LINK reason codes (reference §8.2–8.3; kernel `smc_llc.c`
//! `enum smc_llc_msg_type` and `SMC_LLC_DEL_*`).

use super::code_points;

code_points! {
    /// The full LLC type byte: v1 types 0x01–0x09, v2 types 0x21–0x29 (version nibble 2), CDC 0xFE
    /// (reference §8.2; kernel `enum smc_llc_msg_type`, `SMC_CDC_MSG_TYPE`).
    pub struct LlcType(u8);
    table LLC_TYPES;
    hex_width 2;
    serialize name;
    CONFIRM_LINK = 0x01, Current, "confirm the first link of a link group";
    ADD_LINK = 0x02, Current, "add a link (request, or accepting/rejecting response)";
    ADD_LINK_CONT = 0x03, Current, "ADD LINK continuation: further rkeys (v1 link groups)";
    DELETE_LINK = 0x04, Current, "delete one link or the whole link group";
    REQUEST_ADD_LINK = 0x05, Current, "request the peer to add a link (v2 only; v1 value not accepted)";
    CONFIRM_RKEY = 0x06, Current, "announce an RMB rkey on all links";
    TEST_LINK = 0x07, Current, "link keepalive";
    CONFIRM_RKEY_CONT = 0x08, Current, "CONFIRM RKEY continuation (ignored by Linux)";
    DELETE_RKEY = 0x09, Current, "withdraw RMB rkeys";
    CONFIRM_LINK_V2 = 0x21, Current, "CONFIRM LINK in a v2 link group";
    ADD_LINK_V2 = 0x22, Current, "ADD LINK in a v2 link group (with the v2 rkey extension)";
    DELETE_LINK_V2 = 0x24, Current, "DELETE LINK in a v2 link group";
    REQUEST_ADD_LINK_V2 = 0x25, Current, "request the peer to add a link (v2)";
    CONFIRM_RKEY_V2 = 0x26, Current, "CONFIRM RKEY in a v2 link group";
    TEST_LINK_V2 = 0x27, Current, "TEST LINK in a v2 link group";
    DELETE_RKEY_V2 = 0x29, Current, "DELETE RKEY in a v2 link group (long form up to 255 rkeys)";
    CDC = 0xfe, Current, "SMC-R CDC message (connection data control)";
}

impl LlcType {
    /// The version nibble (bits 7-4): 0 for v1 types, 2 for v2 types (reference §8.1).
    pub fn version(self) -> u8 {
        self.0 >> 4
    }

    /// The type without the version nibble (bits 3-0).
    pub fn base(self) -> u8 {
        self.0 & 0x0f
    }

    /// True for the CDC type byte 0xFE.
    pub fn is_cdc(self) -> bool {
        self == Self::CDC
    }

    /// True when the kernel registers a receive handler for this full type byte
    /// (`smc_llc_rx_handlers`, `smc_cdc_rx_handlers`); `smc_wr_rx_demultiplex` silently drops
    /// every other value — 0x05, 0x23 and 0x28 included (reference §9.3).
    pub fn is_registered(self) -> bool {
        matches!(self.0, 0x01..=0x04 | 0x06..=0x09 | 0x21 | 0x22 | 0x24..=0x27 | 0x29 | 0xfe)
    }

    /// True when the base type (low nibble) has an LLC layout (1–9, reference §8.2). The kernel's
    /// event handler dispatches on this nibble (`smc_llc_event_handler`), so a v1 and a v2 type
    /// share one layout.
    pub fn has_llc_layout(self) -> bool {
        !self.is_cdc() && matches!(self.base(), 0x01..=0x09)
    }
}

code_points! {
    /// DELETE LINK reason (BE32 at offset 5 of DELETE LINK; reference §8.3, kernel `SMC_LLC_DEL_*`).
    pub struct DeleteLinkReason(u32);
    table DELETE_LINK_REASONS;
    hex_width 8;
    serialize full;
    LOST_PATH = 0x0001_0000, Current, "lost path";
    OP_INIT_TERM = 0x0002_0000, Current, "operator-initiated termination";
    PROG_INIT_TERM = 0x0003_0000, Current, "program-initiated termination";
    PROT_VIOL = 0x0004_0000, Current, "LLC protocol violation";
    NO_ASYM_NEEDED = 0x0005_0000, Current, "asymmetric link no longer needed";
    NOLNK = 0x0010_0000, Current, "response: unknown link id";
    NOLGR = 0x0020_0000, Current, "response: unknown link group";
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::codes::is_sorted_unique;

    #[test]
    fn tables_sorted_and_unique() {
        assert!(is_sorted_unique(LLC_TYPES));
        assert!(is_sorted_unique(DELETE_LINK_REASONS));
    }

    #[test]
    fn kernel_names_parse() {
        assert_eq!(
            "SMC_LLC_DEL_LOST_PATH".parse(),
            Ok(DeleteLinkReason::LOST_PATH)
        );
        assert_eq!("prot_viol".parse(), Ok(DeleteLinkReason::PROT_VIOL));
        assert_eq!("SMC_LLC_TEST_LINK".parse(), Ok(LlcType::TEST_LINK));
    }

    #[test]
    fn names() {
        assert_eq!(LlcType(0x21).to_string(), "CONFIRM_LINK_V2");
        assert_eq!(LlcType(0x0a).to_string(), "LlcType(10 / 0x0a)");
        assert_eq!(LlcType(0x22).version(), 2);
        assert_eq!(DeleteLinkReason(0x0002_0000).to_string(), "OP_INIT_TERM");
        assert_eq!(
            DeleteLinkReason(0x0006_0000).to_string(),
            "DeleteLinkReason(393216 / 0x00060000)"
        );
        assert_eq!("NOLNK".parse(), Ok(DeleteLinkReason::NOLNK));
        assert_eq!("0x00010000".parse(), Ok(DeleteLinkReason::LOST_PATH));
    }

    #[test]
    fn registered_types_follow_smc_llc_rx_handlers() {
        let registered: Vec<u8> = (0..=255u8)
            .filter(|t| LlcType(*t).is_registered())
            .collect();
        assert_eq!(
            registered,
            [
                0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27,
                0x29, 0xfe
            ]
        );
        assert!(LlcType(0x23).has_llc_layout() && !LlcType(0x23).is_registered());
        assert!(!LlcType(0xfe).has_llc_layout());
        assert!(!LlcType(0x0a).has_llc_layout());
    }
}
