public import Foundation
public import GatewayStore
public import SealBase

/// The campaign view as values: what `sealgate status` prints (text and `--json`), what
/// `GET /v1/campaign` answers (`json`) and what the dashboard's Campaign page shows — one build,
/// so that their counts cannot disagree.
public struct CampaignView: Sendable {
    /// Where a unit stands, first match wins: packages under review, records held back after a
    /// rejected review, an accepted snapshot (clean or with warnings), only refusals, nothing.
    public enum UnitState: String, Sendable, CaseIterable {
        case acceptedClean = "accepted_clean"
        case acceptedWithWarnings = "accepted_with_warnings"
        case flagged
        case reviewRejected = "review_rejected"
        case rejected
        case missing
    }

    /// Why units are late, or why nobody is.
    public enum Deadlines: String, Sendable {
        case unset
        case open
        case submissionClosed = "submission_closed"
    }

    public struct UnitRow: Sendable {
        public var unit: String
        public var name: String
        public var state: UnitState
        /// Members of the current snapshot.
        public var members: Int
        /// The current snapshot's receipt's completeness, as it states it (JSON null: none).
        public var completeness: JSON
        public var warnings: Int64
        public var rejectedPackages: Int
        public var firstAcceptedAt: Timestamp?
        public var late: Bool
        public var review: ReviewHold?

        /// The completeness as a fraction (0…1), when the receipt stated one.
        public var completenessValue: Double? { completeness.string.flatMap(Double.init) }
    }

    public struct Counts: Sendable, Equatable {
        public var registered = 0
        public var clean = 0
        public var warned = 0
        public var flagged = 0
        public var reviewRejected = 0
        public var rejectedOnly = 0
        public var missing = 0
        /// The late units, by id.
        public var late: [String] = []
        /// Units with an accepted snapshot (clean, with warnings, under review or held back).
        public var submitted: Int { clean + warned + flagged + reviewRejected }
    }

    public struct LastDataset: Sendable {
        public var record: DatasetRecord
        public var synthesizedLate: Bool
        public var deliveredLate: Bool
    }

    public var now: Timestamp
    public var campaign: Campaign
    public var deadlines: Deadlines
    public var counts: Counts
    public var units: [UnitRow]
    public var lastDataset: LastDataset?

    /// Members of every unit's current snapshot.
    public var membersImported: Int { units.reduce(0) { $0 + $1.members } }

    /// The view at the clock's time: who is late is decided against `clock.now`.
    public static func build(store: any GatewayStore, clock: any GatewayClock = .system) async throws -> CampaignView {
        let campaign = try await Campaign.load(store)
        let now = clock.now
        // Done after a deadline, or not done and the deadline is past; never late without a deadline.
        func isLate(_ done: Timestamp?, _ deadline: Timestamp?) -> Bool {
            guard let by = deadline else { return false }
            return (done ?? now) > by
        }
        let rows = try await store.campaignRows()
        // Units whose flagged packages are unresolved or rejected: what the review holds back.
        var holds: [String: ReviewHold] = [:]
        for unit in Set(try await store.flaggedPackages(unitId: nil).filter { $0.resolution != .confirmed }.map(\.unitId)).sorted() {
            holds[unit] = try await store.reviewHold(unitId: unit)
        }
        var counts = Counts(registered: rows.count)
        var units: [UnitRow] = []
        for r in rows {
            let receipt = r.currentReceipt.flatMap { try? JSON(parsing: $0) }
            let warnings = receipt?["validation"]?["warnings"]?.int ?? 0
            let hold = holds[r.unitId]
            let state: UnitState
            if let hold, !hold.unresolved.isEmpty {
                // Accepted, but packages are under review: their records are withheld from datasets.
                state = .flagged
                counts.flagged += 1
            } else if let hold, hold.withheld > 0 || hold.fallsBack {
                // A rejected package still holds records back until the unit submits again.
                state = .reviewRejected
                counts.reviewRejected += 1
            } else if r.firstAcceptedAt != nil {
                state = warnings > 0 ? .acceptedWithWarnings : .acceptedClean
                if warnings > 0 { counts.warned += 1 } else { counts.clean += 1 }
            } else if r.rejected > 0 {
                state = .rejected
                counts.rejectedOnly += 1
            } else {
                state = .missing
                counts.missing += 1
            }
            let unitLate = isLate(r.firstAcceptedAt, campaign.submitBy)
            if unitLate { counts.late.append(r.unitId) }
            units.append(
                UnitRow(
                    unit: r.unitId, name: r.name, state: state, members: r.members,
                    completeness: receipt?["validation"]?["completeness"] ?? .null, warnings: warnings, rejectedPackages: r.rejected,
                    firstAcceptedAt: r.firstAcceptedAt, late: unitLate, review: hold))
        }
        let last = try await store.datasets().last.map {
            LastDataset(
                record: $0, synthesizedLate: isLate($0.createdAt, campaign.synthesizeBy), deliveredLate: isLate($0.deliveredAt, campaign.syncBy))
        }
        let deadlines: Deadlines
        if !campaign.isSet {
            deadlines = .unset
        } else if let by = campaign.submitBy, now > by {
            deadlines = .submissionClosed
        } else {
            deadlines = .open
        }
        return CampaignView(now: now, campaign: campaign, deadlines: deadlines, counts: counts, units: units, lastDataset: last)
    }

    /// `GET /v1/campaign`'s and `status --json`'s document (format sealgate-campaign/1; its keys
    /// are a contract).
    public var json: JSON {
        let last: JSON =
            lastDataset.map { l in
                let d = l.record
                return .object([
                    "version": .int(Int64(d.version)), "package": .string(d.packageId), "state": .string(d.state.rawValue),
                    "attempts": .int(Int64(d.attempts)),
                    "members": .int(Int64(d.members)), "conflicts": .int(Int64(d.conflicts)), "created_at": .string(d.createdAt.text),
                    "last_error": d.lastError.map(JSON.string) ?? .null, "delivered_at": d.deliveredAt.map { .string($0.text) } ?? .null,
                    "synthesized_late": .bool(l.synthesizedLate), "delivered_late": .bool(l.deliveredLate),
                ])
            } ?? .null
        let perUnit: [JSON] = units.map { r in
            .object([
                "unit": .string(r.unit), "name": .string(r.name), "state": .string(r.state.rawValue), "members": .int(Int64(r.members)),
                "completeness": r.completeness, "warnings": .int(r.warnings),
                "rejected_packages": .int(Int64(r.rejectedPackages)), "first_accepted_at": r.firstAcceptedAt.map { .string($0.text) } ?? .null,
                "late": .bool(r.late), "review": r.review.map(CampaignStatus.reviewJSON) ?? .null,
            ])
        }
        return .object([
            "format": .string("sealgate-campaign/1"), "now": .string(now.text), "campaign": campaign.json, "deadlines": .string(deadlines.rawValue),
            "units": .object([
                "registered": .int(Int64(counts.registered)), "submitted": .int(Int64(counts.submitted)),
                "accepted_clean": .int(Int64(counts.clean)), "accepted_with_warnings": .int(Int64(counts.warned)),
                "flagged": .int(Int64(counts.flagged)), "review_rejected": .int(Int64(counts.reviewRejected)),
                "rejected": .int(Int64(counts.rejectedOnly)), "missing": .int(Int64(counts.missing)), "late": .array(counts.late.map(JSON.string)),
            ]),
            "per_unit": .array(perUnit), "last_dataset": last,
        ])
    }
}
