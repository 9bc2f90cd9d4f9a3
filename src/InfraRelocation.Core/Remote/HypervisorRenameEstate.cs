using System.Security.Cryptography.X509Certificates;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>One certificate pin as written in the estate configuration: its document path, key, value and place.</summary>
public sealed record CertificatePin(string Path, string Key, string Value, SourceLocation Location);

/// <summary>The estate's side of a rename: the edits of the configuration, and the row that reports them.</summary>
/// <param name="Edits">Scalar edits of <c>ops/infra-relocation.yaml</c> (each with the value it replaces).</param>
/// <param name="Row">The <c>estate:proxmox-node</c> row: Planned/Done with the edits, Unchanged, Skipped or Failed with what to do.</param>
/// <param name="Pending">True when a pin waits for the certificate pvecm issues (-WhatIf on a node with pvecm).</param>
public sealed record EstatePinPlan(IReadOnlyList<YamlEdit> Edits, BootstrapStepResult Row, bool Pending);

/// <summary>The node as renamed: whose pins, the row's place after the host's steps, the new name and the certificate before and after.</summary>
/// <param name="Before">The node certificate's fingerprint before the rename (null: unreadable).</param>
/// <param name="After">Its fingerprint after the rename (null: unreadable).</param>
public sealed record RenamedNode(string HostId, int Order, string NewName, string? Before, string? After);

/// <summary>
/// The receipt of the whole rename, given the estate's row, the files the pins were written to (empty when none), the
/// diff and the transaction (null when nothing was written): built, stamped, ready for the ledger.
/// </summary>
public delegate RelocationReceipt RenameReceipt(BootstrapStepResult row, IReadOnlyList<WrittenFile> written, string diff, string? transactionId);

/// <summary>
/// What recording the rename with the estate's pins came to: the row, and the receipt recorded in the pins' transaction;
/// null when the pins could not be written (nothing of the estate changed; the row says why, and the caller records the
/// host's part alone).
/// </summary>
public sealed record PinsRecorded(BootstrapStepResult Row, RelocationReceipt? Receipt);

/// <summary>
/// The estate's pins of a renamed node (docs/design/hypervisor-rename.md): <c>proxmox.hosts.&lt;id&gt;.node</c> names the
/// new node, and every pin of the node's certificate before the rename (<c>node_fingerprint</c>, and <c>fingerprint</c>
/// where the API URL presents the node's own certificate) becomes a pin of the certificate after it. Pins of other
/// certificates (a VIP, an ACME certificate) are left alone; a <c>node_fingerprint</c> that pins neither certificate is
/// not overwritten: the row fails and says what to pin, where.
/// </summary>
public static class HypervisorRenameEstate
{
    public const string Step = "estate:proxmox-node";

    /// <summary>The SHA-256 fingerprint (AA:BB:…) of a PEM certificate, or null when it is not one.</summary>
    public static string? FingerprintOfPem(string? pem)
    {
        if (string.IsNullOrWhiteSpace(pem)) return null;
        try
        {
            using var cert = X509Certificate2.CreateFromPem(pem);
            return ProxmoxEndpoint.FingerprintOf(cert);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The command an operator runs on the node to read the fingerprint to pin.</summary>
    public static string FingerprintCommand(string node) =>
        $"openssl x509 -noout -fingerprint -sha256 -in {HypervisorRename.NodesDirectory}/{node}/pve-ssl.pem";

    /// <summary>
    /// The edits and the row. <paramref name="config"/> is the configuration's bytes (null: no configuration);
    /// <paramref name="before"/> and <paramref name="after"/> the node certificate's fingerprints before and after the
    /// rename (null: unknown or unreadable); <paramref name="pending"/>: -WhatIf on a node where pvecm will issue a new
    /// certificate (its fingerprint is read after the rename); <paramref name="preview"/>: the row reads Planned, not Done.
    /// </summary>
    public static EstatePinPlan Plan(string hostId, int order, byte[]? config, string configFile, string newName,
        string? before, string? after, bool pending, bool preview)
    {
        var row = new BootstrapStepResult { Hostname = hostId, Order = order, Step = Step };
        var hostPath = $"{ProxmoxSettings.SectionName}.hosts.{hostId}";
        if (config is null || Entry(config, configFile, hostId) is not { } entry)
            return new([], row with { State = BootstrapStepState.Skipped, Evidence = $"{configFile} has no {hostPath} entry: no node name or fingerprint to keep" }, false);

        var edits = new List<YamlEdit>();
        var changes = new List<string>();
        var currentNode = entry["node"] is YScalar { IsNull: false } n ? n.Value : null;
        if ((currentNode ?? hostId) != newName)
        {
            edits.Add(YamlEdit.Set($"{hostPath}.node", newName, currentNode ?? YamlEdit.ExpectAbsent));
            changes.Add($"node '{currentNode ?? hostId}' → '{newName}'");
        }

        var pins = Pins(entry, hostPath, configFile);
        var nodePins = pins.Where(p => p.Key == "node_fingerprint").ToList();
        var ofOldCertificate = before is null ? [] : pins.Where(p => Same(p.Value, before)).ToList();
        var reissued = before is not null && after is not null && !Same(before, after);
        if (reissued)
        {
            foreach (var pin in ofOldCertificate)
            {
                edits.Add(YamlEdit.Set(pin.Path, after!, pin.Value));
                changes.Add($"{pin.Key} ({pin.Location.Line}:{pin.Location.Column}) {before} → {after}");
            }
        }

        string? failure = null;
        var waiting = false;
        var where = nodePins.FirstOrDefault()?.Location.ToString() ?? $"{configFile} ({hostPath})";
        if (nodePins.Count > 0 || (pending && ofOldCertificate.Count > 0))
        {
            if (after is null && pending)
            {
                waiting = ofOldCertificate.Count > 0;
                if (waiting)
                    changes.Add($"{string.Join(", ", ofOldCertificate.Select(p => $"{p.Key} ({p.Location.Line}:{p.Location.Column})").Distinct())} " +
                                $"{before} → the fingerprint of the certificate pvecm issues for '{newName}', read from {HypervisorRename.NodesDirectory}/{newName}/pve-ssl.pem after the rename");
                else if (nodePins.Count > 0)
                    failure = $"the pinned node_fingerprint ({where}) is not the node's certificate ({before ?? "unreadable"}), so it will not be replaced";
            }
            else if (after is null)
            {
                failure = $"cannot read {HypervisorRename.NodesDirectory}/{newName}/pve-ssl.pem to pin the node's certificate: on the node run " +
                          $"'{FingerprintCommand(newName)}' and set node_fingerprint: \"<that fingerprint>\" at {where}";
            }
            else if (nodePins.Count > 0 && !nodePins.Any(p => Same(p.Value, after) || (reissued && ofOldCertificate.Contains(p))))
            {
                failure = $"the node certificate is now {after}; the pinned node_fingerprint ({where}) is neither it nor the certificate before the rename" +
                          $"{(before is null ? "" : $" ({before})")}, so it was not overwritten: set node_fingerprint: \"{after}\" at {where}";
            }
        }

        var summary = changes.Count > 0 ? $"{configFile} {hostPath}: {string.Join("; ", changes)}" : "";
        if (failure is not null)
            return new(edits, row with { State = BootstrapStepState.Failed, Evidence = summary.Length > 0 ? $"{failure} ({summary})" : failure }, waiting);
        if (changes.Count == 0)
            return new([], row with
            {
                State = BootstrapStepState.Unchanged,
                Evidence = nodePins.Count == 0
                    ? $"{configFile} names node '{newName}' and pins no node fingerprint"
                    : $"{configFile} names node '{newName}' and its node_fingerprint ({where}) pins the node certificate {after}",
            }, false);
        return new(edits, row with { State = preview ? BootstrapStepState.Planned : BootstrapStepState.Done, Evidence = summary }, waiting);
    }

    /// <summary>
    /// Stages the pins (-WhatIf, or before the prompt) in a preview of the estate: the plan and the diff that recording
    /// them would write. <paramref name="pending"/>: pvecm will issue a new certificate (the node's After is not known
    /// yet). Nothing is written.
    /// </summary>
    public static (EstatePinPlan Plan, string Diff) Preview(EstateLayout layout, RenamedNode node, bool pending)
    {
        using var staged = EstateTransaction.Preview(layout.Root);
        var pins = Plan(node.HostId, node.Order, staged.Read(EstateLayout.ConfigFile), EstateLayout.ConfigFile, node.NewName, node.Before, node.After,
            pending, preview: true);
        if (pins.Edits.Count > 0) staged.EditYaml(EstateLayout.ConfigFile, pins.Edits);
        return (pins, staged.Diff);
    }

    /// <summary>
    /// Writes the estate's pins of the renamed node under the lease, with the rename's receipt in the same transaction:
    /// the mutation guard judges the estate as it will be, the configuration is read back after the write (a mismatch
    /// restores it and the row says so), and the receipt is appended with the files, or not at all. The receipt
    /// journaled before the host was touched (<paramref name="journal"/>) is dropped once the real one is in the ledger.
    /// </summary>
    public static PinsRecorded Record(EstateLayout layout, ReceiptStore receipts, RenamedNode node, RenameReceipt receipt, string? journal,
        TimeSpan leaseWait, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var config = EstateLayout.ConfigFile;
        try
        {
            using var lease = EstateLease.Acquire(layout.Root, $"Set-HypervisorHostname {node.HostId}: the estate's pins", leaseWait, cancellationToken);
            using var tx = EstateTransaction.Begin(lease);
            var pins = Plan(node.HostId, node.Order, tx.Read(config), config, node.NewName, node.Before, node.After, pending: false, preview: false);
            if (pins.Edits.Count > 0)
            {
                tx.EditYaml(config, pins.Edits);
                Read(tx.Read(config), config, node.HostId);   // the configuration as it will be must still read
                var estate = EstateLoader.Load(layout);
                var verdict = MutationGuard.Evaluate(estate, tx.ChangedFiles.ToDictionary(p => p, p => tx.Read(p)!, StringComparer.Ordinal),
                    now, LedgerView.Load(receipts.LedgerPath, layout.Config?.Signers ?? []));
                if (MutationGuard.Refusal(verdict, $"pinning {node.HostId}'s renamed node in {config}", canForce: false) is { } refused) throw refused;
            }
            var diff = tx.Diff;
            var row = pins.Row;
            var committed = tx.Commit(new CommitReceipt
            {
                Store = receipts,
                AnchorIn = pins.Edits.Count > 0 ? layout.RelativePath(EstateFile.Manifest).Replace('\\', '/') : null,
                Verify = _ => Mismatch(Read(File.ReadAllBytes(Path.Combine(layout.Root, config)), config, node.HostId), node.NewName, node.After) is { } m
                    ? $"read back after the write, {m}" : null,
                Build = (outcome, reason) =>
                {
                    if (reason is not null) row = pins.Row with { State = BootstrapStepState.Failed, Evidence = $"{reason}; the estate was restored ({pins.Row.Evidence})" };
                    var written = reason is null
                        ? outcome.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList()
                        : [];
                    return receipt(row, written, reason is null ? diff : "", outcome.Files.Count > 0 ? outcome.TransactionId : null);
                },
            });
            if (journal is not null) PendingReceipts.Discard(journal);
            return new(row, committed.Receipt);
        }
        catch (RelocationException ex)
        {
            // Nothing of the estate was written (the transaction restored it or never began).
            return new(new BootstrapStepResult
            {
                Hostname = node.HostId, Order = node.Order, Step = Step, State = BootstrapStepState.Failed,
                Evidence = $"{config} was not changed ({ex.ErrorId}): {ex.Message.Split('\n')[0]}",
            }, null);
        }
    }

    /// <summary>
    /// True when the estate may follow the rename: no step on the host failed and the host reports the new name.
    /// Otherwise the estate still names the node as it is, and its row is <see cref="NotRenamedRow"/>.
    /// </summary>
    public static bool Renamed(IReadOnlyList<BootstrapStepResult> hostSteps, string? reportedName, string newName) =>
        hostSteps.All(r => r.State != BootstrapStepState.Failed) && reportedName == newName;

    /// <summary>The estate's row when the node is not renamed: the configuration is left as it is.</summary>
    public static BootstrapStepResult NotRenamedRow(string hostId, int order) => new()
    {
        Hostname = hostId, Order = order, Step = Step, State = BootstrapStepState.NotRun,
        Evidence = $"{EstateLayout.ConfigFile} not changed: the node is not renamed yet",
    };

    /// <summary>
    /// The receipt of a rename that was only previewed (-WhatIf, or declined): the steps it would run, the files it would
    /// change and the estate's diff; nothing changed.
    /// </summary>
    public static HostnameChangeReceipt Previewed(HostnameChangeReceipt started, IReadOnlyList<BootstrapStepResult> steps, IReadOnlyList<string> files, string diff)
    {
        ArgumentNullException.ThrowIfNull(started);
        return started with
        {
            Outcome = ReceiptOutcome.Previewed, Steps = steps, Files = files, Diff = diff,
            Summary = started.PreviousName == started.NewName ? $"{started.HostId}: would check that node '{started.NewName}' is fully renamed; nothing changed"
                : $"{started.HostId}: would rename node '{started.PreviousName}' to '{started.NewName}' ({files.Count} file(s)); nothing changed",
        };
    }

    /// <summary>
    /// The rename's receipt once it ran: <paramref name="started"/> (host id, new and previous name, identity) with every
    /// step (the host's and the estate's row), the files changed on the host (<paramref name="hostFiles"/>) and in the
    /// estate (<paramref name="written"/>, its <paramref name="diff"/> and transaction). Failed when a step failed or the
    /// host does not report the new name (re-run to resume); else Succeeded when a file changed, Unchanged when none did.
    /// </summary>
    public static HostnameChangeReceipt Finished(HostnameChangeReceipt started, IReadOnlyList<BootstrapStepResult> steps, IReadOnlyList<string> hostFiles,
        string? reportedName, IReadOnlyList<WrittenFile> written, string diff, string? transactionId)
    {
        ArgumentNullException.ThrowIfNull(started);
        var (hostId, name) = (started.HostId, started.NewName);
        var failed = steps.Where(r => r.State == BootstrapStepState.Failed).ToList();
        var files = hostFiles.Concat(written.Select(f => f.Path)).ToList();
        var outcome = failed.Count > 0 || reportedName != name ? ReceiptOutcome.Failed : files.Count > 0 ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged;
        return started with
        {
            ReportedName = reportedName, Steps = steps, Files = files, Outcome = outcome, Diff = diff, EstateFiles = written, TransactionId = transactionId,
            Method = steps.Any(r => r.Step.StartsWith("hostname:", StringComparison.Ordinal) && r.State == BootstrapStepState.Done) ? "pve-rename" : "none",
            Findings = failed.Select(f => RelocationFinding.Error("IDENTITY.RenameStepFailed", $"{hostId}: {f.Step}: {f.Evidence}", null, null, hostId)).ToList(),
            Summary = outcome switch
            {
                ReceiptOutcome.Succeeded => $"{hostId}: node '{started.PreviousName}' renamed to '{reportedName}'; {files.Count} file(s) changed",
                ReceiptOutcome.Unchanged => $"{hostId}: node already named '{name}'; nothing changed",
                _ => $"{hostId}: rename to '{name}' incomplete ({failed.Count} step(s) failed; the host reports '{reportedName}'); re-run to resume",
            },
        };
    }

    /// <summary>
    /// Why the estate as written does not match the renamed node (null when it does): read back after the commit, the
    /// node name and, where pinned, the node certificate.
    /// </summary>
    public static string? Mismatch(ProxmoxHostSettings? host, string newName, string? after)
    {
        if (host is null) return "the proxmox.hosts entry is gone";
        if (host.Node != newName) return $"proxmox.hosts.{host.HostId}.node reads '{host.Node}', not '{newName}'";
        if (host.NodeFingerprints.Count > 0 && after is not null && !host.NodeFingerprints.Any(p => Same(p, after)))
            return $"proxmox.hosts.{host.HostId}.node_fingerprint does not pin {after}";
        return null;
    }

    /// <summary>The host's settings as <paramref name="config"/> (bytes staged or on disk) gives them; a bad configuration throws its located error.</summary>
    public static ProxmoxHostSettings? Read(byte[]? config, string configFile, string hostId) =>
        config is null ? null : ProxmoxSettings.FromConfig(Estate.EstateConfig.Parse(config, configFile)).Hosts.GetValueOrDefault(hostId);

    private static bool Same(string a, string b) => ProxmoxEndpoint.NormaliseFingerprint(a) == ProxmoxEndpoint.NormaliseFingerprint(b);

    private static YMapping? Entry(byte[] config, string configFile, string hostId)
    {
        var root = LocatedYamlReader.Parse(LocatedYamlReader.Decode(config, configFile, sha256: "").Text, configFile);
        return root is YMapping doc && doc[ProxmoxSettings.SectionName] is YMapping section && section["hosts"] is YMapping hosts
            ? hosts[hostId] as YMapping
            : null;
    }

    // The pins of the entry: a scalar or a list under fingerprint and node_fingerprint.
    private static List<CertificatePin> Pins(YMapping entry, string hostPath, string configFile)
    {
        var pins = new List<CertificatePin>();
        foreach (var key in new[] { "node_fingerprint", "fingerprint" })
        {
            SourceLocation At(YNode n) => new(configFile, n.Line, n.Column);
            switch (entry[key])
            {
                case YScalar { IsNull: false } s:
                    pins.Add(new($"{hostPath}.{key}", key, s.Value, At(s)));
                    break;
                case YSequence list:
                    for (var i = 0; i < list.Items.Count; i++)
                        if (list.Items[i] is YScalar { IsNull: false } item)
                            pins.Add(new($"{hostPath}.{key}[{i}]", key, item.Value, At(item)));
                    break;
            }
        }
        return pins;
    }
}
