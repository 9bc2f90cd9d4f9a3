using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Utilities;
using Org.BouncyCastle.Security;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>
/// Operator signatures (docs/design/ledger.md, "Signatures"): the only thing that tells a correctly linked forged
/// receipt from a real one. Keys are OpenSSH Ed25519 keys; the estate lists the public halves.
/// </summary>
public sealed class ReceiptSigningTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-sign-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Writes an unencrypted OpenSSH Ed25519 private key file (what ssh-keygen -t ed25519 -N '' writes).</summary>
    private string NewKeyFile(string name)
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var blob = OpenSshPrivateKeyUtilities.EncodePrivateKey(pair.Private);
        var body = string.Join("\n", Convert.ToBase64String(blob).Chunk(70).Select(c => new string(c)));
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, $"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n");
        return path;
    }

    private static ReceiptSignerKey Listed(string name, ReceiptSigner signer) =>
        ReceiptSignerKey.Parse(name, signer.PublicKey + " " + name + "@laptop", out var problem) ?? throw new InvalidOperationException(problem);

    private static GateReceipt Preflight(string outcome) => new()
    {
        Capability = LedgerView.PreflightCapability, Mode = RunMode.Read, Outcome = Enum.Parse<ReceiptOutcome>(outcome), ChangeId = "CHG-1",
        RunId = Guid.NewGuid().ToString("N"), EndedUtc = DateTimeOffset.UtcNow, Results = [new GateResult { GateId = GateIds.Parity, Passed = true }],
    };

    [Fact]
    public void SignedReceiptsSayWhoSignedThem_AndACorrectlyLinkedForgeryIsUnsigned()
    {
        var alice = ReceiptSigner.Load(NewKeyFile("alice"));
        var keys = new[] { Listed("alice", alice) };
        var signed = new ReceiptStore(Path.Combine(_root, "receipts")) { Signer = alice };
        signed.Append(Preflight("Failed"));
        signed.Append(Preflight("Passed"));
        var store = new ReceiptStore(signed.Folder);

        var all = store.Signatures(keys);
        Assert.All(all, s => Assert.Equal((ReceiptSignatureStatus.Valid, "alice", alice.Fingerprint), (s.Status, s.Signer, s.Fingerprint)));
        Assert.Equal(ReceiptSignatureStatus.Valid, LedgerView.Load(store.LedgerPath, keys).LatestPreflight("CHG-1")!.Signature);
        Assert.Equal("alice", LedgerView.Load(store.LedgerPath, keys).LatestPreflight("CHG-1")!.Signer);

        // a forged passing preflight appended with a correct link: the chain holds, the signature is missing
        var lines = File.ReadAllLines(store.LedgerPath);
        var forged = LedgerAnchorTests.Link(lines[1].Split(",\"signature\":")[0] + "}", store.HeadHash());
        File.AppendAllLines(store.LedgerPath, [forged]);
        Assert.True(store.Verify().IsValid);
        Assert.Equal(ReceiptSignatureStatus.Unsigned, store.Signatures(keys)[^1].Status);
        var evidence = LedgerView.Load(store.LedgerPath, keys).LatestPreflight("CHG-1")!;
        Assert.Equal(ReceiptSignatureStatus.Unsigned, evidence.Signature);
    }

    [Fact]
    public void WhenTheEstateListsSignersTheChecklistAndTheHandEditGateCountOnlySignedReceipts()
    {
        using var estate = new SampleCopy();
        var alice = ReceiptSigner.Load(NewKeyFile("alice"));
        var keys = new[] { Listed("alice", alice) };
        var digests = estate.Load().InputDigests;
        GateReceipt Check(string capability) => new()
        {
            Capability = capability, Mode = RunMode.Read, Outcome = ReceiptOutcome.Passed, ChangeId = SampleCopy.ChangeId,
            RunId = Guid.NewGuid().ToString("N"), EndedUtc = DateTimeOffset.UtcNow, InputDigests = digests,
        };
        var folder = Path.Combine(estate.Root, "receipts");
        new ReceiptStore(folder) { Signer = alice }.Append(Check("infra.relocation.parity"));
        // The attack: a passing receipt appended without the key, correctly linked (what a hand-written line with the right prev-hash is).
        new ReceiptStore(folder).Append(Check("infra.placement.policy"));
        var ledger = Path.Combine(folder, ReceiptStore.LedgerFileName);

        ChecklistItem Item(LedgerView view, string id) => ChecklistEvaluator.Evaluate(estate.Load(), view, [ChecklistPhase.PreCutover]).Single(i => i.Id == id);
        var listed = LedgerView.Load(ledger, keys);
        Assert.Equal(ChecklistItemState.Done, Item(listed, "PRE.Parity").State);
        var forged = Item(listed, "PRE.PlacementPolicy");
        Assert.Equal(ChecklistItemState.Missing, forged.State);
        Assert.Contains("(infra.placement.policy) is unsigned, and ops/infra-relocation.yaml lists receipts.signers: evidence counts only when one of them signed it", forged.Evidence, StringComparison.Ordinal);
        Assert.Null(forged.RunId);
        // The entering-cutover guard names it the same way (the state guard's finding carries the item's evidence).
        Assert.Contains(ChecklistEvaluator.Unmet(estate.Load(), listed, InfraRelocation.Model.RelocationState.Cutover), i => i.Id == "PRE.PlacementPolicy" && i.Evidence.Contains("is unsigned", StringComparison.Ordinal));
        // The limit without signers: the forgery counts (Test-RelocationReceiptChain reports it as not anchored).
        Assert.Equal(ChecklistItemState.Done, Item(LedgerView.Load(ledger), "PRE.PlacementPolicy").State);

        // A forged transition receipt cannot make a hand edit look controlled.
        estate.SetState("cutover");
        new ReceiptStore(folder).Append(new RelocationStateReceipt
        {
            Capability = ChecklistEvaluator.StateCapability, Mode = RunMode.Execute, Outcome = ReceiptOutcome.Succeeded, ChangeId = SampleCopy.ChangeId,
            RunId = "forged", EndedUtc = DateTimeOffset.UtcNow, Before = "preflight", After = "cutover",
            Changes = [new ValueChange { File = SampleCopy.Manifest, Path = TransitionPlanner.StatePath, Before = "preflight", After = "cutover" }],
        });
        Assert.True(HandEditGate.LastSet(LedgerView.Load(ledger), SampleCopy.ChangeId, SampleCopy.Manifest).ContainsKey(TransitionPlanner.StatePath));
        Assert.Empty(HandEditGate.LastSet(LedgerView.Load(ledger, keys), SampleCopy.ChangeId, SampleCopy.Manifest));
        Assert.Equal(ChecklistItemState.Missing, Item(LedgerView.Load(ledger, keys), "PRE.StatePreflight").State);
    }

    [Fact]
    public void ASignatureCopiedOntoAnotherReceiptIsInvalid_AndAnUnlistedKeyIsUnknown()
    {
        var alice = ReceiptSigner.Load(NewKeyFile("alice"));
        var mallory = ReceiptSigner.Load(NewKeyFile("mallory"));
        var store = new ReceiptStore(Path.Combine(_root, "receipts")) { Signer = alice };
        store.Append(Preflight("Passed"));
        var line = File.ReadAllLines(store.LedgerPath)[0];
        var signature = line[line.IndexOf(",\"signature\":", StringComparison.Ordinal)..^1];
        var forged = LedgerAnchorTests.Link(line.Split(",\"signature\":")[0] + "}", store.HeadHash());
        File.AppendAllLines(store.LedgerPath, [forged[..^1] + signature + "}"]);
        new ReceiptStore(store.Folder) { Signer = mallory }.Append(Preflight("Passed"));

        var keys = new[] { Listed("alice", alice) };
        var statuses = new ReceiptStore(store.Folder).Signatures(keys).Select(s => s.Status).ToList();
        Assert.Equal([ReceiptSignatureStatus.Valid, ReceiptSignatureStatus.Invalid, ReceiptSignatureStatus.UnknownKey], statuses);
        Assert.True(store.Verify().IsValid); // the chain alone cannot tell
    }

    [Fact]
    public void AKeyThatIsNotAnEd25519OpenSshKeyStopsTheChangeBeforeAnythingIsWritten()
    {
        var bad = Path.Combine(_root, "not-a-key");
        File.WriteAllText(bad, "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n");
        var error = Assert.Throws<RelocationException>(() => ReceiptSigner.Load(bad));
        Assert.Equal("ReceiptSigningKeyInvalid", error.ErrorId);
        Assert.DoesNotContain("bm90IGEga2V5", error.Message); // the key's content never reaches a message
        Assert.Null(ReceiptSignerKey.Parse("x", "ssh-rsa AAAAB3NzaC1yc2E", out var problem));
        Assert.Contains("Ed25519", problem);
    }
}
