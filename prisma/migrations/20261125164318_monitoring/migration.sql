-- AlterTable
ALTER TABLE "MetricSample" ADD COLUMN     "cpuCoresMax" DOUBLE PRECISION,
ADD COLUMN     "memoryMaxBytes" BIGINT,
ADD COLUMN     "samples" INTEGER NOT NULL DEFAULT 1;

-- CreateTable
CREATE TABLE "MonitorLease" (
    "name" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "acquiredAt" TIMESTAMPTZ(3) NOT NULL,
    "renewedAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "status" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "MonitorLease_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "ClusterEvent_operationId_idx" ON "ClusterEvent"("operationId");

-- CreateIndex
CREATE INDEX "MetricSample_clusterId_resolution_time_idx" ON "MetricSample"("clusterId", "resolution", "time");
