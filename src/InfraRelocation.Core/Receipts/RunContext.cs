using InfraRelocation.Receipts;
using InfraRelocation.Core.Hashing;
using System.Security.Cryptography;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// Collects what every receipt needs while a capability runs: identity of the run, timing, and the digest
/// of every file the decision read. <see cref="Stamp{T}"/> copies them onto the capability's receipt.
/// </summary>
public sealed class RunContext
{
    private readonly Dictionary<string, string> _digests = new(StringComparer.Ordinal);

    public RunContext(string capability, string command, RunMode mode, string estateRoot = "")
    {
        Capability = capability;
        Command = command;
        Mode = mode;
        EstateRoot = estateRoot;
        StartedUtc = DateTimeOffset.UtcNow;
        RunId = NewRunId(capability, StartedUtc);
    }

    public string Capability { get; }
    public string Command { get; }
    public RunMode Mode { get; set; }
    public string EstateRoot { get; set; }
    public DateTimeOffset StartedUtc { get; }
    public string RunId { get; }
    public IReadOnlyDictionary<string, string> InputDigests => _digests;

    /// <summary>Records the digest of an input file (by its path relative to the estate root).</summary>
    public void RecordInput(string relativePath, string sha256Hex) => _digests[relativePath] = sha256Hex;

    /// <summary>Records the digests of every input a decision read (e.g. a loaded estate's <c>InputDigests</c>).</summary>
    public void RecordInputs(IEnumerable<KeyValuePair<string, string>> digests)
    {
        ArgumentNullException.ThrowIfNull(digests);
        foreach (var (path, digest) in digests)
        {
            _digests[path] = digest;
        }
    }

    /// <summary>Records the digest of an input given as bytes already read.</summary>
    public void RecordInput(string relativePath, ReadOnlySpan<byte> content) =>
        RecordInput(relativePath, Digest.Sha256Hex(content));

    /// <summary>Fills the common receipt fields on a capability's receipt.</summary>
    public T Stamp<T>(T receipt) where T : RelocationReceipt => (T)(receipt with
    {
        Capability = Capability,
        Command = Command,
        RunId = RunId,
        Mode = Mode,
        StartedUtc = StartedUtc,
        EndedUtc = DateTimeOffset.UtcNow,
        InputDigests = new Dictionary<string, string>(_digests, StringComparer.Ordinal),
        Actor = Environment.UserName,
        Machine = Environment.MachineName,
        EstateRoot = EstateRoot,
    });

    /// <summary>Sortable, unique: <c>20260502T101500Z-parity-3f9c2a1b</c>.</summary>
    private static string NewRunId(string capability, DateTimeOffset started)
    {
        var shortName = capability.Split('.').Last();
        return $"{started:yyyyMMdd'T'HHmmss'Z'}-{shortName}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}";
    }
}
