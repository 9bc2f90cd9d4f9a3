using System.Diagnostics;
using System.Runtime.InteropServices;

namespace InfraRelocation.Core.Persistence;

/// <summary>
/// Crash-safe whole-file replacement: the target always holds either the old or the new bytes, never a mix.
/// Writes a temp file in the same folder, flushes it to disk, copies the target's permissions, renames it over
/// the target (an atomic rename on POSIX, MoveFileEx on Windows) and flushes the folder entry.
/// </summary>
public static class AtomicFile
{
    private const string TempMarker = ".ir-tmp-";

    /// <summary>Atomically replaces (or creates) <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        Directory.CreateDirectory(folder);
        CleanStaleTemps(full);

        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            CopyPermissions(full, temp);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        FlushFolder(folder);
    }

    /// <summary>True when <paramref name="fileName"/> is a temp file left by <see cref="Write"/>.</summary>
    public static bool IsTempFile(string fileName) => Path.GetFileName(fileName).Contains(TempMarker, StringComparison.Ordinal);

    /// <summary>
    /// Removes temp files a crashed writer left next to <paramref name="fullPath"/>: those whose writer process is
    /// gone, or older than an hour. A live writer's temp file is left alone.
    /// </summary>
    private static void CleanStaleTemps(string fullPath)
    {
        var folder = Path.GetDirectoryName(fullPath)!;
        var prefix = $".{Path.GetFileName(fullPath)}{TempMarker}";
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, prefix + "*").ToList();
        }
        catch (IOException)
        {
            return;
        }
        foreach (var candidate in candidates)
        {
            var rest = Path.GetFileName(candidate)[prefix.Length..];
            var dash = rest.IndexOf('-');
            var pidAlive = dash > 0 && int.TryParse(rest[..dash], out var pid) && pid != Environment.ProcessId && ProcessIsAlive(pid);
            var old = DateTime.UtcNow - File.GetLastWriteTimeUtc(candidate) > TimeSpan.FromHours(1);
            if (!pidAlive || old)
            {
                TryDelete(candidate);
            }
        }
    }

    internal static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void CopyPermissions(string original, string temp)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(original))
        {
            return;
        }
        try
        {
            File.SetUnixFileMode(temp, File.GetUnixFileMode(original));
        }
        catch (IOException)
        {
            // Best effort: the content matters more than the mode.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>fsync the folder so the rename itself survives a power loss (POSIX only; best effort).</summary>
    private static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }
        try
        {
            var fd = Open(folder, 0 /* O_RDONLY */);
            if (fd >= 0)
            {
                _ = Fsync(fd);
                _ = Close(fd);
            }
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
