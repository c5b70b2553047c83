// The English text of every code: its general meaning and what to do (docs/errors.md says more
// of each). No command-line flags here: these texts are also what a client reads in a problem
// document; the command line adds its own words for flags.
extension ErrorText {
    static let en: [SealErrorCode: CodeText] = [
        // Generic
        .ioError: CodeText(
            "The system refused to read or write a file or folder.",
            remedy: "Check the paths given, their permissions and the free disk space, then run the command again."),
        .cryptoFailure: CodeText(
            "A cryptographic library call failed unexpectedly.",
            remedy: "Run the command again; if it fails again, report it (it is a bug)."),
        .usage: CodeText(
            "The command or request was given wrong or missing arguments.",
            remedy: "Read the message, correct the arguments (the command's help lists them) and run it again."),

        // Keys
        .keyMalformed: CodeText(
            "The key file is not a minisign or age key, or it is damaged.",
            remedy: "Use the key file sealgate made, unaltered; if it is lost, make a new key and have it registered."),
        .keyUnsupported: CodeText(
            "The key uses an algorithm sealgate does not support.",
            remedy: "Use a key made by sealgate or minisign (Ed25519)."),
        .keyWrongPassphrase: CodeText(
            "The passphrase does not unlock the secret key.",
            remedy: "Type the passphrase of this key again, exactly (letters, case, spaces)."),
        .keyFilePermissions: CodeText(
            "The secret key file can be read by other users of this machine.",
            remedy: "Make the key readable by its owner only (chmod 600 KEYFILE) and run the command again."),
        .keyFileExists: CodeText(
            "A key file would be overwritten.",
            remedy: "Choose another name for the new key, or move the old one away first."),
        .passphraseRequired: CodeText(
            "A passphrase is needed, and there is no terminal to ask for it.",
            remedy: "Give the passphrase from a file of mode 0600 or from the SEALGATE_PASSPHRASE environment variable."),

        // minisign signatures
        .signatureMalformed: CodeText(
            "The package's signature file is malformed.",
            remedy: "Seal the data again with sealgate seal and send the new package."),
        .signatureKeyMismatch: CodeText(
            "The signature was made by another key than the one given.",
            remedy: "Check with the key of the signer that made it."),
        .signatureInvalid: CodeText(
            "The signature does not verify: the data was altered or signed with another key.",
            remedy: "Do not trust this data; ask the sender to seal it again with its registered key."),
        .commentSignatureInvalid: CodeText(
            "The signature over the package's description does not verify: it was altered.",
            remedy: "Do not trust this package; ask the sender to seal it again."),

        // age
        .ageArmorMalformed: CodeText(
            "The armored (text) age file is malformed.",
            remedy: "Ask for the binary age file, unaltered."),
        .ageHeaderMalformed: CodeText(
            "The encrypted payload's header is malformed.",
            remedy: "Seal the data again and send the new package."),
        .ageUnsupportedVersion: CodeText(
            "The encrypted payload is not age version 1.",
            remedy: "Seal the data again with sealgate seal."),
        .ageUnsupportedRecipient: CodeText(
            "The payload is encrypted in a way sealgate does not accept (a passphrase).",
            remedy: "Seal the data to the department's recipient key with sealgate seal."),
        .ageNoMatchingIdentity: CodeText(
            "None of the identities given can decrypt the payload.",
            remedy: "Use the identity the package was sealed to; the sender may have sealed it to an old key."),
        .ageHeaderMACMismatch: CodeText(
            "The encrypted payload's header was altered.",
            remedy: "Do not trust this package; seal the data again and send the new package."),
        .agePayloadCorrupt: CodeText(
            "The encrypted payload is damaged or cut short.",
            remedy: "Copy the package again from its source, or seal the data again."),
        .ageRecipientMalformed: CodeText(
            "The recipient is neither an age1 recipient nor a file of them.",
            remedy: "Give the department's recipient (age1…) or its .pub file, or the trust document."),
        .tokenUnavailable: CodeText(
            "The token holding the signing key cannot be used: its module, the token itself, or a call to it failed.",
            remedy: "Plug the token in, check the path of its PKCS#11 module, then try again."),
        .tokenPinRefused: CodeText(
            "The token refused the PIN, or its PIN is locked.",
            remedy: "Give the token's user PIN; if it is locked, have the token's security officer unlock it."),
        .tokenKeyMissing: CodeText(
            "No Ed25519 signing key on the token matches the pkcs11: URI.",
            remedy: "Check the URI's token= and object= (or id=) against the token's list of objects."),
        .ageRecipientsMixed: CodeText(
            "Post-quantum (age1pq1…) and classical (age1…) recipients were given for one package: it would be only as safe as the classical one.",
            remedy: "Seal to post-quantum recipients only, or to classical ones only; the trust document says which the department uses."),

        // Opening a package
        .packageTooLarge: CodeText(
            "The package is over the size limit.",
            remedy: "Split the data into several packages, or ask the receiver about its limit."),
        .containerMalformed: CodeText(
            "The file is not a well-formed sealgate package.",
            remedy: "Send the package sealgate seal wrote, unaltered, or seal the data again."),
        .keyUnknown: CodeText(
            "The package is signed by a key the receiver does not know.",
            remedy: "Sign with the unit's registered key, or have the new key registered by the department first."),
        .commentMalformed: CodeText(
            "The package's signed description is malformed.",
            remedy: "Seal the data again with sealgate seal."),
        .unitMismatch: CodeText(
            "The package names another unit than its signing key belongs to.",
            remedy: "A unit seals only under its own unit id, with its own key."),
        .recipientNotAccepted: CodeText(
            "The package is not encrypted to a recipient the receiver accepts.",
            remedy: "Fetch the current trust document and seal the data again with it."),
        .payloadMalformed: CodeText(
            "The package's contents are malformed or do not hold the files its kind needs.",
            remedy: "Seal the data again with sealgate seal."),
        .manifestMismatch: CodeText(
            "The package's contents do not match its signed description.",
            remedy: "Do not trust this package; tell the unit that signed it."),
        .fileHashMismatch: CodeText(
            "A file inside the package does not match its listed hash.",
            remedy: "Seal the data again and send the new package."),
        .recordCountMismatch: CodeText(
            "A file inside the package holds another number of records than listed.",
            remedy: "Seal the data again and send the new package."),
        .outputExists: CodeText(
            "The output file or folder already exists.",
            remedy: "Choose a new output path, or move the old one away first."),
        .inputChanged: CodeText(
            "An input file changed while it was being sealed.",
            remedy: "Close the program editing the file, then seal again."),

        // Records
        .recordsInvalid: CodeText(
            "The records have errors; nothing was sealed or accepted.",
            remedy: "Fix the rows listed (file, line, column, rule), validate again, then seal a new package."),
        .recordsUnreadable: CodeText(
            "The records folder or file cannot be read.",
            remedy: "Check the path and that the files are there and readable."),
        .workbookMalformed: CodeText(
            "The file is not an Excel workbook that can be read (not .xlsx, or damaged).",
            remedy: "Open it in Excel and save it again as Excel Workbook (.xlsx), then check it again."),
        .workbookTooLarge: CodeText(
            "The workbook is over a size limit (a sheet, its texts, or its columns).",
            remedy: "Delete what is not records (other sheets, cells far to the right) or split the workbook."),
        .workbookUnsafe: CodeText(
            "The workbook is built in a way that could harm the program reading it; it was not read.",
            remedy: "Do not use this file; save the records again from Excel as a new .xlsx."),

        // Transparency log
        .checkpointInvalid: CodeText(
            "A log checkpoint is malformed or not signed by the log key.",
            remedy: "Fetch the checkpoint again from the gateway; if it stays invalid, report it to the department."),
        .logInconsistent: CodeText(
            "The log's entries no longer match its last signed checkpoint.",
            remedy: "The operator restores the store from a backup; report it with the time."),
        .logMismatch: CodeText(
            "Log entries verified before have changed, or do not hash to the signed checkpoint.",
            remedy: "Keep the state file as evidence and report it to the department and the auditors."),
        .logFork: CodeText(
            "The log does not extend the one seen before: its history differs.",
            remedy: "Keep the evidence; the operator restores the matching copy or declares the fork."),
        .logForkDeclared: CodeText(
            "The department declared a fork of the log that abandons the checkpoint held.",
            remedy: "Read the declaration and decide whether to follow the log from there."),
        .logBehind: CodeText(
            "The store's log is shorter than the latest checkpoint signed: it was restored from an older copy.",
            remedy: "The operator restores a newer copy, or declares a fork if the entries are lost."),

        // Talking to a server
        .httpError: CodeText(
            "The server cannot be reached, or did not answer as expected.",
            remedy: "Check the network, the address (https:// or http://) and that the server runs; try again later."),
        .httpTimeout: CodeText(
            "The server did not answer in time.",
            remedy: "Try again later; a package can be sent again as it is (it gets its one receipt)."),
        .tlsUntrusted: CodeText(
            "The server's certificate is not trusted, or is for another name.",
            remedy: "Use the CA certificate the department gave, and check the address."),
        .tlsFailed: CodeText(
            "The secure connection (TLS) to the server failed.",
            remedy: "Check the address: https:// for a TLS server, http:// for a plain one."),
        .responseTooLarge: CodeText(
            "The server's answer is larger than expected.",
            remedy: "Check the address: it is not a sealgate server."),
        .tlsClientRefused: CodeText(
            "The server requires a client certificate and refused the one given (or none).",
            remedy: "Use the client certificate and key the department issued."),

        // The servers and their HTTP layer
        .listenFailed: CodeText(
            "The server cannot listen at its address.",
            remedy: "Stop the other program on that port, or choose another port or address."),
        .tlsSetup: CodeText(
            "The server's certificate or key cannot be read or do not belong together.",
            remedy: "Give a readable PEM certificate chain and its own key."),
        .badParameter: CodeText(
            "A parameter of the request is malformed or out of range.",
            remedy: "Correct the request (docs/api.md lists the parameters)."),
        .badRequest: CodeText(
            "The request is malformed.",
            remedy: "Send a well-formed HTTP/1.1 request."),
        .notFound: CodeText(
            "There is no such resource.",
            remedy: "Check the address (docs/api.md lists the routes)."),
        .methodNotAllowed: CodeText(
            "This address does not take that method.",
            remedy: "Use a method the Allow header names."),
        .bodyTooLarge: CodeText(
            "The request body is over the limit.",
            remedy: "Send a smaller body; split the data into several packages."),
        .internalError: CodeText(
            "The server failed to answer this request.",
            remedy: "Try again; if it persists, report it with the time."),
        .unauthorized: CodeText(
            "A valid token is needed and was missing, unknown or revoked.",
            remedy: "Use the token the department issued for this unit."),
        .forbidden: CodeText(
            "This token may not read that resource.",
            remedy: "Ask only about your own unit."),
        .signinThrottled: CodeText(
            "Too many failed dashboard sign-ins within a minute.",
            remedy: "Wait a minute, then sign in again with a valid admin token."),

        // The gateway
        .malformedDocument: CodeText(
            "A JSON document is malformed.",
            remedy: "Use the document as it was received or written, unaltered; fetch it again."),
        .dataDirectory: CodeText(
            "The data folder is not usable (not a gateway's folder, or open to other users).",
            remedy: "Check the folder given, its owner and its permissions."),
        .spoolLocked: CodeText(
            "Another server process already uses this data folder's spool.",
            remedy: "Stop the other process, or give each process a spool of its own."),
        .unitExists: CodeText(
            "The unit is already registered.",
            remedy: "Check the unit id; list the registered units."),
        .unitUnknown: CodeText(
            "No unit with that id is registered.",
            remedy: "Check the unit id; ask the department to register the unit."),
        .keyExists: CodeText(
            "The key is already registered.",
            remedy: "Make a new key for the rotation."),
        .keyState: CodeText(
            "The signing key is registered but not active (retired, revoked or replaced).",
            remedy: "Sign with the unit's current key; ask the department which key is active."),
        .seqConflict: CodeText(
            "Another package already took this sequence number of the unit.",
            remedy: "Seal the data again with the next sequence number and send the new package."),
        .seqNotIncreasing: CodeText(
            "The sequence number is not above the unit's last one.",
            remedy: "Seal the data again with a sequence number above the last accepted one."),
        .seqOutOfRange: CodeText(
            "The sequence number is too large.",
            remedy: "Seal again with a sequence number below 9223372036854775808."),
        .correctionsTooMany: CodeText(
            "The correction package has more than 10,000 rows.",
            remedy: "Send corrections as they are reported, or send a snapshot of the whole list."),
        .kindNotAccepted: CodeText(
            "Units may not send a package of this kind.",
            remedy: "Send a snapshot, corrections or files."),
        .tokenUnitMismatch: CodeText(
            "The token belongs to another unit than the package.",
            remedy: "Use this unit's own token."),
        .recipientRetired: CodeText(
            "The package is encrypted to a department key that was retired.",
            remedy: "Fetch the trust document again and seal the data again with it."),
        .packageUnknown: CodeText(
            "No package with that id was received for this unit.",
            remedy: "Check the package id."),
        .intakeFault: CodeText(
            "The gateway met a fault of its own and recorded nothing.",
            remedy: "Send the same package again in a minute."),
        .rotationInvalid: CodeText(
            "The key rotation statement is malformed, for another unit, or out of date.",
            remedy: "Make the rotation statement again, now, for this unit."),
        .rotationSignatureInvalid: CodeText(
            "The key rotation statement is not signed by both the old and the new key.",
            remedy: "Sign the statement with both keys."),
        .flagUnknown: CodeText(
            "No package with that id is flagged for review.",
            remedy: "List the flagged packages and use one of their ids."),
        .flagResolved: CodeText(
            "The flagged package was decided already.",
            remedy: "A decision is made once; if it was wrong, ask the unit for a new snapshot."),
        .reasonInvalid: CodeText(
            "The reason is empty, too long, or looks like personal data.",
            remedy: "Give a short reason without names, ids, phone numbers or e-mail addresses."),
        .tokenUnknown: CodeText(
            "No token (or more than one) has that id.",
            remedy: "List the tokens and use one id."),
        .tokenRevoked: CodeText(
            "The token was already revoked.",
            remedy: "Nothing more to do; issue a new token if one is needed."),
        .trustMissing: CodeText(
            "No such trust document is published.",
            remedy: "Ask the department to publish its trust document, and check the address."),
        .trustInvalid: CodeText(
            "The trust document is not signed by the pinned root key, or is malformed.",
            remedy: "Fetch it again with the department's root key; if it stays invalid, tell the department."),
        .trustExpired: CodeText(
            "The trust document has expired.",
            remedy: "Fetch the trust document again; if it is still expired, tell the department."),
        .trustRollback: CodeText(
            "The trust document fetched is older than the one held.",
            remedy: "Keep the newer document and tell the department."),
        .receiptInvalid: CodeText(
            "The receipt does not verify with the receipt key of the trust document.",
            remedy: "Use the receipt and its signature as received, and a current trust document; tell the department if it stays invalid."),
        .backupInvalid: CodeText(
            "The file is not a usable sealgate backup.",
            remedy: "Use a backup file sealgate wrote, unaltered."),

        // Synthesis and forwarding
        .handbookUnset: CodeText(
            "No handbook system is connected.",
            remedy: "Connect the handbook system first."),
        .datasetExists: CodeText(
            "Another synthesis took this dataset version at the same moment.",
            remedy: "Run the synthesis again."),
        .datasetEmpty: CodeText(
            "No unit has accepted records yet.",
            remedy: "Wait for the units' packages, then synthesize."),
        .datasetUnknown: CodeText(
            "No dataset of that version exists.",
            remedy: "List the datasets and use one of their versions."),
        .forwardFailed: CodeText(
            "The handbook system answered an error status.",
            remedy: "The forwarder retries by itself; check the handbook system's log."),
        .datasetMissing: CodeText(
            "The sealed dataset is missing or does not match its hash.",
            remedy: "Restore the datasets from backup, or synthesize a new version."),
        .ackInvalid: CodeText(
            "The acknowledgement is missing, not signed by the connected key, or names another dataset.",
            remedy: "The forwarder retries; check the handbook system's acknowledgement key."),
        .datasetMalformed: CodeText(
            "A dataset file is not valid CSV or has the wrong number of columns.",
            remedy: "Nothing was imported; report it to the department."),

        // The handbook receiver
        .datasetStale: CodeText(
            "The dataset is not newer than the one imported.",
            remedy: "Nothing to do: an old dataset is never imported over a newer one."),
        .datasetCount: CodeText(
            "The dataset's files hold other numbers of rows than its manifest counts.",
            remedy: "Nothing was imported; report it to the department."),
        .packageReused: CodeText(
            "A package id already received arrived with other bytes.",
            remedy: "Do not trust it; report it to the department."),
        .handbookFailure: CodeText(
            "The handbook receiver met a fault of its own; nothing was imported.",
            remedy: "Send the dataset again later; the cause is in the receiver's output."),
        .kindNotDataset: CodeText(
            "The package is not a dataset.",
            remedy: "Send only the department's sealed datasets here."),
        .datasetNotFromDepartment: CodeText(
            "The dataset is not the trust document's department's.",
            remedy: "Send only the department's sealed datasets here."),

        // The store
        .storeUnavailable: CodeText(
            "The gateway cannot reach its database; nothing was recorded.",
            remedy: "Send the same request again in a minute."),
        .storeFailure: CodeText(
            "The gateway's database failed an operation; nothing was recorded.",
            remedy: "Try again in a minute; if it persists, the operator checks the database."),
        .databaseURL: CodeText(
            "The database address is not one the store can use.",
            remedy: "Give a postgres:// address (the password in PGPASSWORD)."),
        .uniqueViolation: CodeText(
            "The database refused a duplicate entry.",
            remedy: "Try again; if it persists, report it with the time."),
        .seqTaken: CodeText(
            "Another process decided the same sequence number meanwhile.",
            remedy: "Send the same package again: it gets its one outcome."),
        .noSnapshot: CodeText(
            "The unit has no accepted snapshot to correct.",
            remedy: "Send a snapshot of the unit's records first, then the corrections."),
        .correctionField: CodeText(
            "A correction names a field that cannot be corrected.",
            remedy: "Correct only the columns of members.csv other than citizen_id."),
        .correctionConflict: CodeText(
            "A correction conflicts with the member's current record.",
            remedy: "Check the member's current data and send the correction again."),
        .trustVersion: CodeText(
            "The trust document version is not the next one.",
            remedy: "Publish the trust document again."),
        .datasetUnreadable: CodeText(
            "A stored dataset cannot be read.",
            remedy: "Restore the datasets from backup, or synthesize a new version."),
        .datasetUnwritable: CodeText(
            "A dataset cannot be written.",
            remedy: "Check the data folder's free space and permissions, then synthesize again."),
        .datasetIncomplete: CodeText(
            "A dataset in the store is incomplete.",
            remedy: "Synthesize a new version."),

        // The unit's profile
        .profileInvalid: CodeText(
            "The unit profile in this folder cannot be read.",
            remedy: "Set the folder up again with sealgate unit init (the packages and receipts stay)."),
        .profileExists: CodeText(
            "This folder already holds a unit profile.",
            remedy: "Use the profile as it is, or replace it knowing that its history of packages is lost."),
        .profileMissing: CodeText(
            "There is no unit profile in this folder or above it.",
            remedy: "Set the folder up once with sealgate unit init, or name the unit, key and trust document in the command."),
    ]
}
