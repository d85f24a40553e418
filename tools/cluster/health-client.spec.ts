import { createHealthService, startGrpcHealthServer } from '@mitosis/service-kit';
import { grpcHealth } from './health-client';

describe('grpcHealth (grpc-health-check proto, real socket)', () => {
  it("reads the server's and a service's status, and fails where nothing listens", async () => {
    const health = createHealthService(['mitosis.v1.JobService'], 'NOT_SERVING');
    const server = await startGrpcHealthServer({ addr: '127.0.0.1:0', health });
    try {
      expect(await grpcHealth(server.address)).toBe('NOT_SERVING');
      health.setStatus('', 'SERVING');
      expect(await grpcHealth(server.address)).toBe('SERVING');
      expect(await grpcHealth(server.address, 2_000, 'mitosis.v1.JobService')).toBe('NOT_SERVING');
      await expect(grpcHealth(server.address, 2_000, 'mitosis.v1.Nope')).rejects.toMatchObject({ code: 5 });
    } finally {
      await server.close();
    }
    await expect(grpcHealth(server.address, 500)).rejects.toMatchObject({ code: expect.any(Number) });
  });
});
