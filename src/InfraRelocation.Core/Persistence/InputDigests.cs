using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Persistence;

/// <summary>
/// Optimistic concurrency: the SHA-256 of every file a decision read. <see cref="VerifyUnchanged"/>, called
/// just before writing, fails with <c>EstateFileChanged</c> when any of them changed (or appeared, or vanished)
/// since it was read — e.g. a hand edit made while a readiness gate was running.
/// </summary>
public sealed class InputDigests
{
    private readonly string _root;
    private readonly Estate.EstateBoundary _boundary;
    private readonly Dictionary<string, string?> _digests = new(StringComparer.Ordinal);

    /// <param name="estateRoot">Folder relative paths are resolved against (and shown relative to).</param>
    public InputDigests(string estateRoot)
    {
        _root = Path.GetFullPath(estateRoot);
        _boundary = new Estate.EstateBoundary(_root);
    }

    /// <summary>Relative path → SHA-256 hex (null when the file did not exist when read).</summary>
    public IReadOnlyDictionary<string, string?> Digests => _digests;

    /// <summary>Reads a file (relative to the estate root or absolute) and records its digest; null when it does not exist.</summary>
    public byte[]? Read(string path)
    {
        var full = FullPath(path);
        var bytes = File.Exists(full) ? File.ReadAllBytes(full) : null;
        Record(path, bytes);
        return bytes;
    }

    /// <summary>Records the digest of bytes read elsewhere (null = the file did not exist). The first record of a file wins.</summary>
    public void Record(string path, byte[]? bytes) => _digests.TryAdd(Relative(path), bytes is null ? null : Digest.Sha256Hex(bytes));

    /// <summary>Throws <c>EstateFileChanged</c> naming the first file whose content differs from when it was read.</summary>
    public void VerifyUnchanged()
    {
        foreach (var (relative, digest) in _digests)
        {
            var full = FullPath(relative);
            var now = File.Exists(full) ? Digest.Sha256Hex(File.ReadAllBytes(full)) : null;
            if (!string.Equals(now, digest, StringComparison.Ordinal))
            {
                var what = digest is null ? "was created" : now is null ? "was deleted" : "was changed";
                throw new RelocationException("EstateFileChanged", FailureKind.InvalidOperation,
                    $"{relative} {what} by someone else since it was read; nothing was written. Re-run to re-evaluate.",
                    new SourceLocation(relative, 1, 1), relative);
            }
        }
    }

    /// <summary>The absolute path, resolved inside the estate root (<c>EstatePathEscapesRoot</c> otherwise): reads and writes alike.</summary>
    internal string FullPath(string path) => _boundary.Resolve(path);

    internal string Relative(string path) => Path.GetRelativePath(_root, FullPath(path)).Replace('\\', '/');
}
