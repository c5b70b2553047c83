public import SealCrypto
import Workbook

/// Checks record inputs — CSV files, `.xlsx` workbooks, a unit's folder, the city's — and holds
/// the findings: what `validate`, `normalize`, `seal` and the desk all run (one code path).
public enum RecordCheck {
    /// Resolves `paths` to units and validates each (`sink`: where normalized files go).
    /// `warn` hears the sheets of a workbook named for no record file; `perUnit` the progress.
    public static func run(
        _ paths: [String], today: CivilDate, crossUnit: Bool, defaultUnit: String? = nil, sink: (any NormalizedSink)? = nil,
        keep: Int = 10_000, warn: ((String) -> Void)? = nil, perUnit: ((String, Int, Int) -> Void)? = nil
    ) throws -> RecordValidator {
        let units = try resolve(paths, defaultUnit: defaultUnit)
        guard keep >= 1 else { throw SealError(.usage, "the findings listed must be at least 1", remedy: "give a positive number") }
        for u in units where !u.ignoredSheets.isEmpty {
            warn?("\(u.unit): sheets not read (named for no record file): \(u.ignoredSheets.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        let v = RecordValidator(today: today, crossUnit: crossUnit, keep: keep)
        for (i, u) in units.enumerated() {
            do { try v.validateUnit(u.unit, files: u.files, sheets: u.sheets, sink: sink) } catch let e as CSVIOError {
                throw SealError(.ioError, "cannot read or write \(e.path)", remedy: "check the path and its permissions", cause: e)
            } catch let e as WorkbookError {
                throw SealError(e.code, e.message, remedy: e.remedy)
            }
            perUnit?(u.unit, i + 1, units.count)
        }
        return v
    }

    /// The units `paths` name, with their files and workbook sheets (coded errors).
    public static func resolve(_ paths: [String], defaultUnit: String? = nil) throws -> [RecordInputs.Unit] {
        do { return try RecordInputs.resolve(paths, defaultUnit: defaultUnit) } catch let e as RecordInputError {
            throw SealError(
                .usage, e.reason,
                remedy: "give record files (organizations.csv, members.csv, corrections.csv), a .xlsx workbook, a unit folder, or the city folder")
        } catch let e as WorkbookError {
            throw SealError(e.code, e.message, remedy: e.remedy)
        }
    }
}
