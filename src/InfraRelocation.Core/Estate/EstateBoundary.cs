namespace InfraRelocation.Core.Estate;

/// <summary>
/// The estate root as a boundary. Every path the module reads or writes in an estate (protocol files, the
/// receipt ledger, transaction journals, the lease) is resolved here: relative to the root (an absolute path is
/// accepted only when it lies inside), with every symbolic link along it resolved. A path that ends up outside the
/// root is <c>EstatePathEscapesRoot</c>, located at the entry that named it, before anything is read or written.
/// See docs/design/estate-boundary.md.
/// </summary>
public sealed class EstateBoundary
{
    public const string EscapeErrorId = "EstatePathEscapesRoot";

    public EstateBoundary(string root)
    {
        Root = Path.GetFullPath(root);
        RealRoot = RealPath(Root);
    }

    /// <summary>Absolute path of the root, as given.</summary>
    public string Root { get; }

    /// <summary>The root with its own symbolic links resolved (what resolved paths are compared with).</summary>
    public string RealRoot { get; }

    /// <summary>
    /// The absolute path of <paramref name="path"/> (relative to the root, or absolute) once it is known to stay
    /// inside the root; otherwise throws <c>EstatePathEscapesRoot</c> located at <paramref name="declaredAt"/>
    /// (the configuration entry that named the path), else at the path itself.
    /// </summary>
    public string Resolve(string path, SourceLocation? declaredAt = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (EscapeReason(path) is { } reason)
        {
            throw new RelocationException(EscapeErrorId, FailureKind.SecurityError,
                $"'{path}' {reason}; every file the module reads or writes must stay inside the estate root '{Root}'. Nothing was read or written.",
                declaredAt ?? new SourceLocation(path.Replace('\\', '/'), 1, 1), path);
        }
        return Path.GetFullPath(Path.Combine(Root, path));
    }

    /// <summary>Why <paramref name="path"/> leaves the root ('..', absolute elsewhere, a link out), or null when it stays inside.</summary>
    public string? EscapeReason(string path)
    {
        if (path.Length == 0)
        {
            return "is empty";
        }
        var full = Path.GetFullPath(Path.Combine(Root, path));
        if (!IsInside(Root, full))
        {
            return Path.IsPathRooted(path) ? "is an absolute path outside the estate root" : "climbs out of the estate root with '..'";
        }
        var real = RealPath(full);
        return IsInside(RealRoot, real) ? null : $"resolves through a symbolic link to '{real}', outside the estate root";
    }

    private static bool IsInside(string root, string path)
    {
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var trimmed = Path.TrimEndingDirectorySeparator(root);
        return path.Equals(trimmed, comparison) ||
               path.StartsWith(trimmed + Path.DirectorySeparatorChar, comparison);
    }

    /// <summary>The path with every symbolic link along it resolved (missing tail components kept as written).</summary>
    public static string RealPath(string fullPath)
    {
        var current = Path.GetPathRoot(fullPath) ?? "/";
        var parts = fullPath[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is not null)
            {
                try
                {
                    var target = info.ResolveLinkTarget(returnFinalTarget: true);
                    next = target is null ? next : RealPath(Path.GetFullPath(target.FullName));
                }
                catch (IOException)
                {
                    // A link cycle: keep the link itself.
                }
            }
            current = next;
        }
        return current;
    }
}
